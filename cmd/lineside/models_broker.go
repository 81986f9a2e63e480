package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/spf13/pflag"

	"github.com/lineside/lineside/sync/topic"
	"github.com/lineside/lineside/sync/uplink"
)

// brokerFlags are the connection flags of the cloud-side model commands.
type brokerFlags struct {
	broker, prefix, username, passwordFile string
	caFile, certFile, keyFile              string
	timeout                                time.Duration
}

func (b *brokerFlags) register(f *pflag.FlagSet) {
	f.StringVar(&b.broker, "broker", "tcp://127.0.0.1:1883", "broker URL (tcp://, ssl://)")
	f.StringVar(&b.prefix, "prefix", topic.DefaultPrefix, "topic prefix")
	f.StringVar(&b.username, "username", "", "broker user name")
	f.StringVar(&b.passwordFile, "password-file", "", "file holding the broker password (else LINESIDE_MQTT_PASSWORD)")
	f.StringVar(&b.caFile, "ca-file", "", "CA certificate(s) of the broker (PEM)")
	f.StringVar(&b.certFile, "cert-file", "", "client certificate for mutual TLS (PEM)")
	f.StringVar(&b.keyFile, "key-file", "", "key of --cert-file (PEM)")
	f.DurationVar(&b.timeout, "connect-timeout", 10*time.Second, "how long to try to connect")
}

// connect dials the broker with a clean session and onConnect run once
// connected (subscriptions).
func (b *brokerFlags) connect(role string, onConnect func(mqtt.Client)) (mqtt.Client, error) {
	tlsCfg, err := uplink.LoadTLS(uplink.TLSFiles{CAFile: b.caFile, CertFile: b.certFile, KeyFile: b.keyFile})
	if err != nil {
		return nil, err
	}
	password := os.Getenv("LINESIDE_MQTT_PASSWORD")
	if b.passwordFile != "" {
		p, err := os.ReadFile(b.passwordFile)
		if err != nil {
			return nil, err
		}
		password = strings.TrimRight(string(p), "\r\n")
	}
	host, _ := os.Hostname()
	opts := mqtt.NewClientOptions().AddBroker(b.broker).
		SetClientID(fmt.Sprintf("lineside-models-%s-%s-%d", role, host, time.Now().UnixNano()%1e6)).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectTimeout(b.timeout).
		SetUsername(b.username).SetPassword(password)
	if tlsCfg != nil {
		opts.SetTLSConfig(tlsCfg)
	}
	if onConnect != nil {
		opts.SetOnConnectHandler(onConnect)
	}
	c := mqtt.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(b.timeout) {
		return nil, fmt.Errorf("connect %s: no answer within %s", b.broker, b.timeout)
	}
	if err := tok.Error(); err != nil {
		return nil, fmt.Errorf("connect %s: %w", b.broker, err)
	}
	return c, nil
}
