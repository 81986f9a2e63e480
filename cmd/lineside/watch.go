package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/spf13/cobra"

	"github.com/lineside/lineside/sync/ledger"
	"github.com/lineside/lineside/sync/uplink"
)

// errGaps is returned by watch --fail-on-gaps when ids are missing.
var errGaps = errors.New("ids missing")

// watchOptions are the flags of `lineside watch`.
type watchOptions struct {
	broker, filter, clientID      string
	username, passwordFile        string
	caFile, certFile, keyFile     string
	ledger, fromStart, failOnGaps bool
	jsonOut                       bool
	duration, idle, interval      time.Duration
}

func newWatchCmd() *cobra.Command {
	var o watchOptions
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Follow what the agents publish, as the cloud sees it (tail, or a ledger of gaps, duplicates and latency)",
		Long: `watch subscribes to the lineside topics on a broker and prints every message,
or with --ledger follows every stream's seq ({device}:{stream}:{seq}) and reports
missing ids (gaps), duplicates, records that arrived out of order, drops the
agents reported on {base}/events/drops, and the end-to-end latency from each
record's ts to its arrival. It stops on SIGINT/SIGTERM, after --duration, or
after --idle without messages; with --fail-on-gaps it then exits 1 if ids are
missing, so it can sit in a test or a monitor. The password comes from
--password-file or LINESIDE_MQTT_PASSWORD.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runWatch(ctx, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.broker, "broker", "tcp://127.0.0.1:1883", "broker URL (tcp://, ssl://)")
	f.StringVar(&o.filter, "topic", "lineside/v1/#", "topic filter to follow")
	f.StringVar(&o.clientID, "client-id", "", "client id; set it for a persistent session that keeps messages across watch's own reconnects")
	f.StringVar(&o.username, "username", "", "broker user name")
	f.StringVar(&o.passwordFile, "password-file", "", "file holding the broker password (else LINESIDE_MQTT_PASSWORD)")
	f.StringVar(&o.caFile, "ca-file", "", "CA certificate(s) of the broker (PEM)")
	f.StringVar(&o.certFile, "cert-file", "", "client certificate for mutual TLS (PEM)")
	f.StringVar(&o.keyFile, "key-file", "", "key of --cert-file (PEM)")
	f.BoolVar(&o.ledger, "ledger", false, "follow seqs and report gaps, duplicates, drops and latency instead of printing messages")
	f.BoolVar(&o.fromStart, "from-start", false, "with --ledger: streams start at seq 1 (else at the first seq seen)")
	f.BoolVar(&o.failOnGaps, "fail-on-gaps", false, "with --ledger: exit 1 when ids are missing at the end")
	f.BoolVar(&o.jsonOut, "json", false, "with --ledger: print the final report as JSON")
	f.DurationVar(&o.duration, "duration", 0, "stop after this long (0: until interrupted)")
	f.DurationVar(&o.idle, "idle", 0, "stop after this long without a message (0: never)")
	f.DurationVar(&o.interval, "interval", 10*time.Second, "with --ledger: print a summary this often (0: only at the end)")
	return cmd
}

// runWatch connects, follows messages until the end condition, and reports.
func runWatch(ctx context.Context, o watchOptions, stdout, stderr io.Writer) error {
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	led := ledger.New(o.fromStart)
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	handle := func(_ mqtt.Client, m mqtt.Message) {
		now := time.Now()
		last.Store(now.UnixNano())
		if o.ledger {
			if err := led.Observe(m.Topic(), m.Payload(), now); err != nil {
				fmt.Fprintf(stderr, "watch: %s: %v\n", m.Topic(), err)
			}
			return
		}
		fmt.Fprintf(stdout, "%s %s %s\n", now.UTC().Format(time.RFC3339Nano), m.Topic(), printable(m.Payload()))
	}
	client, err := watchClient(o, handle, stderr)
	if err != nil {
		return err
	}
	defer client.Disconnect(250)

	tick := make(<-chan time.Time)
	if o.ledger && o.interval > 0 {
		t := time.NewTicker(o.interval)
		defer t.Stop()
		tick = t.C
	}
	idle := time.NewTicker(100 * time.Millisecond)
	defer idle.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-tick:
			fmt.Fprintln(stderr, "watch:", summary(led.Report()))
		case <-idle.C:
			done = o.idle > 0 && time.Since(time.Unix(0, last.Load())) > o.idle
		}
	}
	if !o.ledger {
		return nil
	}
	rep := led.Report()
	if err := printReport(stdout, rep, o.jsonOut); err != nil {
		return err
	}
	if o.failOnGaps && rep.Missing > 0 {
		return fmt.Errorf("watch: %d %w", rep.Missing, errGaps)
	}
	return nil
}

// watchClient connects with auto-reconnect and subscribes on every connect.
func watchClient(o watchOptions, handle mqtt.MessageHandler, stderr io.Writer) (mqtt.Client, error) {
	tlsCfg, err := uplink.LoadTLS(uplink.TLSFiles{CAFile: o.caFile, CertFile: o.certFile, KeyFile: o.keyFile})
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	password := os.Getenv("LINESIDE_MQTT_PASSWORD")
	if o.passwordFile != "" {
		b, err := os.ReadFile(o.passwordFile)
		if err != nil {
			return nil, fmt.Errorf("watch: password file: %w", err)
		}
		password, _, _ = strings.Cut(strings.TrimRight(string(b), "\r\n"), "\n")
	}
	id, clean := o.clientID, o.clientID == ""
	if clean {
		host, _ := os.Hostname()
		id = fmt.Sprintf("lineside-watch-%s-%d", host, os.Getpid())
	}
	opts := mqtt.NewClientOptions().AddBroker(o.broker).SetClientID(id).SetCleanSession(clean).
		SetUsername(o.username).SetPassword(password).SetTLSConfig(tlsCfg).
		SetAutoReconnect(true).SetMaxReconnectInterval(2 * time.Second).SetConnectTimeout(5 * time.Second).
		SetOrderMatters(true).
		SetOnConnectHandler(func(c mqtt.Client) {
			tok := c.Subscribe(o.filter, 1, handle)
			if tok.Wait(); tok.Error() != nil {
				fmt.Fprintf(stderr, "watch: subscribe %s: %v\n", o.filter, tok.Error())
				return
			}
			fmt.Fprintf(stderr, "watch: subscribed to %s on %s\n", o.filter, o.broker)
		}).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			fmt.Fprintf(stderr, "watch: connection lost (%v); reconnecting\n", err)
		})
	client := mqtt.NewClient(opts)
	if tok := client.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return nil, fmt.Errorf("watch: connect %s: %v", o.broker, tok.Error())
	}
	return client, nil
}

// printable shows a payload as text, or its size when it is binary.
func printable(p []byte) string {
	for _, c := range p {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return fmt.Sprintf("<%d bytes>", len(p))
		}
	}
	if len(p) > 400 {
		return string(p[:400]) + "..."
	}
	return string(p)
}

// summary is the one-line ledger summary.
func summary(r ledger.Report) string {
	return fmt.Sprintf("streams=%d received=%d unique=%d missing=%d duplicates=%d out_of_order=%d dropped=%d latency_p50=%.1fms p99=%.1fms max=%.1fms",
		len(r.Streams), r.Received, r.Unique, r.Missing, r.Duplicates, r.OutOfOrder, r.Dropped, r.Latency.P50, r.Latency.P99, r.Latency.Max)
}

// printReport prints the final ledger, per stream, or as JSON.
func printReport(w io.Writer, r ledger.Report, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	for name, s := range r.Streams {
		fmt.Fprintf(w, "%s first=%d last=%d unique=%d missing=%d duplicates=%d out_of_order=%d dropped=%d", name, s.First, s.Last, s.Unique, s.Missing, s.Duplicates, s.OutOfOrder, s.Dropped)
		if len(s.MissingIDs) > 0 {
			fmt.Fprintf(w, " missing_ranges=%v", s.MissingIDs)
		}
		fmt.Fprintln(w)
	}
	_, err := fmt.Fprintln(w, "total", summary(r))
	return err
}
