package agent

import (
	"crypto/tls"
	"fmt"
	"os"

	"github.com/lineside/lineside/sync/outbox"
	"github.com/lineside/lineside/sync/uplink"
)

// passwordEnv is the environment variable the MQTT password is read from
// when mqtt.password_file is empty. It is not a config key, so that the
// password never appears in a config dump or check.
const passwordEnv = "LINESIDE_MQTT_PASSWORD"

// openStore opens the outbox with the disk budget and the topics of its
// drop and salvage reports. Drop reports go in the alarm tier: they are
// tiny, they must not be the first thing dropped when the store is full,
// and they tell the cloud which gaps are explained.
func (a *Agent) openStore() error {
	cfg := a.cfg
	out, err := outbox.Open(cfg.Store.Path, outbox.Options{
		Device:      cfg.Device.ID,
		LockTimeout: cfg.Store.LockTimeout.Std(),
		MaxBytes:    int64(cfg.Store.MaxBytes),
		DropTopic:   a.layout.Drops(),
		StoreTopic:  a.layout.StoreEvents(),
	}, a.log)
	if err != nil {
		return err
	}
	a.out = out
	if rep := out.Salvaged(); rep != nil {
		a.log.Error("the store file was damaged: set aside and salvaged; reported on "+a.layout.StoreEvents(),
			"component", "store", "aside", rep.Aside, "records_salvaged", rep.Records, "lost", rep.Lost, "reason", rep.Reason)
	}
	return nil
}

// mqttPassword returns the broker password: the first line of
// mqtt.password_file, else LINESIDE_MQTT_PASSWORD, else "". It is never
// logged.
func (a *Agent) mqttPassword() (string, error) {
	m := a.cfg.MQTT
	env, fromEnv := os.LookupEnv(passwordEnv)
	if m.PasswordFile != "" {
		if fromEnv {
			a.log.Warn("both mqtt.password_file and "+passwordEnv+" are set; using the file", "component", "uplink")
		}
		return readSecret(m.PasswordFile)
	}
	if fromEnv && env != "" && m.Username == "" {
		a.log.Warn(passwordEnv+" is set but mqtt.username is empty; the password is not used", "component", "uplink")
		return "", nil
	}
	return env, nil
}

// uplinkTLS loads the TLS files of the broker connection.
func (a *Agent) uplinkTLS() (*tls.Config, error) {
	t := a.cfg.MQTT.TLS
	cfg, err := uplink.LoadTLS(uplink.TLSFiles{CAFile: t.CAFile, CertFile: t.CertFile, KeyFile: t.KeyFile})
	if err != nil {
		return nil, fmt.Errorf("mqtt.tls: %w", err)
	}
	return cfg, nil
}
