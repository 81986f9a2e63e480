package plc

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/server"
	"github.com/gopcua/opcua/ua"

	"github.com/lineside/lineside/sensors/sim"
)

// Namespace indexes of the OPC UA address space: ns=1 describes the PLC,
// ns=2 holds the assets, as on many real servers.
const (
	NamespacePLC    = 1
	NamespaceAssets = 2
)

// NodeID returns the OPC UA node id of an asset value: a feature name from
// sim.Features, time_to_failure_s or failed.
func NodeID(asset int, name string) string {
	return fmt.Sprintf("ns=%d;s=asset%d.%s", NamespaceAssets, asset, name)
}

// NodeIDs lists every asset node id, asset by asset.
func (p *PLC) NodeIDs() []string {
	var out []string
	for i := range p.machines {
		for _, name := range sim.Features {
			out = append(out, NodeID(i, name))
		}
		out = append(out, NodeID(i, "time_to_failure_s"), NodeID(i, "failed"))
	}
	return out
}

// uaServer is the running OPC UA server.
type uaServer struct {
	srv   *server.Server
	ns    *server.NodeNameSpace
	nodes []*ua.NodeID
}

// notify tells subscribers that every asset value changed.
func (u *uaServer) notify() {
	for _, n := range u.nodes {
		u.ns.ChangeNotification(n)
	}
}

// serveOPCUA starts the OPC UA server and returns its stop function.
func (p *PLC) serveOPCUA(ctx context.Context) (func(), error) {
	host, port, err := net.SplitHostPort(p.cfg.OPCUA)
	if err != nil {
		return nil, fmt.Errorf("plc: opcua address %q: %w", p.cfg.OPCUA, err)
	}
	pn, err := strconv.Atoi(port)
	if err != nil {
		return nil, fmt.Errorf("plc: opcua address %q: bad port", p.cfg.OPCUA)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	opts := []server.Option{
		server.EndPoint(host, pn),
		server.EnableSecurity("None", ua.MessageSecurityModeNone),
		server.EnableAuthMode(ua.UserTokenTypeAnonymous),
		server.ServerName("lineside simulated PLC"),
		server.SetLogger(uaLogger{p.log.With("server", "opcua")}),
	}
	if p.cfg.Certificate != nil && p.cfg.Key != nil {
		opts = append(opts,
			server.Certificate(p.cfg.Certificate), server.PrivateKey(p.cfg.Key),
			server.EnableSecurity("Basic256Sha256", ua.MessageSecurityModeSignAndEncrypt))
	}
	srv := server.New(opts...)
	meta := server.NewNodeNameSpace(srv, "urn:lineside:plc")
	assets := server.NewNodeNameSpace(srv, "urn:lineside:plc:assets")
	if meta.ID() != NamespacePLC || assets.ID() != NamespaceAssets {
		return nil, fmt.Errorf("plc: opcua namespaces at %d and %d, want %d and %d",
			meta.ID(), assets.ID(), NamespacePLC, NamespaceAssets)
	}
	root, _ := srv.Namespace(0)
	rootObj := root.Objects()
	rootObj.AddRef(meta.Objects(), id.HasComponent, true)
	rootObj.AddRef(assets.Objects(), id.HasComponent, true)
	n := meta.AddNewVariableStringNode("plc.assets", int32(len(p.machines)))
	meta.Objects().AddRef(n, id.HasComponent, true)

	u := &uaServer{srv: srv, ns: assets}
	for i := range p.machines {
		names := append(sim.Features[:], "time_to_failure_s", "failed")
		for k, name := range names {
			n := assets.AddNewVariableStringNode(fmt.Sprintf("asset%d.%s", i, name), p.valueFunc(i, k))
			assets.Objects().AddRef(n, id.HasComponent, true)
			u.nodes = append(u.nodes, n.ID())
		}
	}
	// The server's goroutines stop with this context, and a channel whose
	// goroutine has stopped is no longer closed by srv.Close, leaving its
	// client connected to nothing: cancel it only after Close.
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	if err := srv.Start(sctx); err != nil {
		cancel()
		return nil, fmt.Errorf("plc: opcua listen %s: %w", p.cfg.OPCUA, err)
	}
	p.ua = u
	p.log.Info("opcua server listening", "endpoint", fmt.Sprintf("opc.tcp://%s", p.cfg.OPCUA),
		"security", map[bool]string{true: "None, Basic256Sha256", false: "None"}[p.cfg.Key != nil])
	return func() {
		p.ua = nil
		_ = srv.Close()
		cancel()
	}, nil
}

// valueFunc serves value k of asset i: a feature, the time to failure or
// the failed flag, with the update time as source timestamp.
func (p *PLC) valueFunc(i, k int) func() *ua.DataValue {
	return func() *ua.DataValue {
		p.mu.RLock()
		a := p.assets[i]
		p.mu.RUnlock()
		var v float64
		switch {
		case k < sim.NumFeatures:
			v = a.values[k]
		case k == sim.NumFeatures:
			v = a.ttf
		case a.failed:
			v = 1
		}
		return &ua.DataValue{
			EncodingMask:    ua.DataValueValue | ua.DataValueSourceTimestamp | ua.DataValueServerTimestamp,
			Value:           ua.MustVariant(v),
			SourceTimestamp: a.at,
			ServerTimestamp: time.Now(),
		}
	}
}

// uaLogger keeps the OPC UA library's printf-style logs at debug level.
type uaLogger struct{ log *slog.Logger }

func (l uaLogger) Debug(msg string, args ...any) { l.log.Debug(fmt.Sprintf(msg, args...)) }
func (l uaLogger) Info(msg string, args ...any)  { l.log.Debug(fmt.Sprintf(msg, args...)) }
func (l uaLogger) Warn(msg string, args ...any)  { l.log.Debug(fmt.Sprintf(msg, args...)) }
func (l uaLogger) Error(msg string, args ...any) { l.log.Debug(fmt.Sprintf(msg, args...)) }
