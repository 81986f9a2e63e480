package agent

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/lineside/lineside/sync/update"
)

// transfer is a model version being fetched.
type transfer struct {
	m        *update.Manifest
	tr       *update.Transfer
	filter   string    // the chunk subscription
	deadline time.Time // give up when no chunk arrived by then
}

// handleManifest checks a manifest delivered on {prefix}/models/{name}/manifest
// and starts (or resumes) its transfer. Run goroutine only.
func (u *updater) handleManifest(topicName string, payload []byte) {
	name := strings.TrimSuffix(strings.TrimPrefix(topicName, u.prefix()+"/models/"), "/manifest")
	m, err := update.ParseManifest(payload)
	if err != nil {
		u.refuse(name, "manifest", err)
		return
	}
	if m.Name != name {
		u.refuse(name, m.Version, fmt.Errorf("%w: manifest for model %q on the topic of %q", update.ErrMalformed, m.Name, name))
		return
	}
	if err := u.keys.Verify(m); err != nil {
		u.refuse(name, m.Version, err)
		return
	}
	if !m.ForDevice(u.layout.Site, u.layout.Line, u.layout.Device) {
		u.refuse(name, m.Version, fmt.Errorf("targets %v do not match this device %s/%s/%s", m.Targets, u.layout.Site, u.layout.Line, u.layout.Device))
		return
	}
	if _, ok := u.configured[name]; !ok || !(u.reg.Known(name) || u.predictor(name) != nil) {
		u.refuse(name, m.Version, fmt.Errorf("model %q is not configured on this device", name))
		return
	}
	if m.Size > int64(u.cfg.MaxBytes) {
		u.refuse(name, m.Version, fmt.Errorf("size %d bytes is over updates.max_bytes %s", m.Size, u.cfg.MaxBytes))
		return
	}
	serving := u.state(name).Serving
	if m.Version == serving && u.sameAsServing(m) {
		u.log.Debug("manifest of the serving version", "model", name, "version", m.Version)
		return
	}
	if !newerVersion(m.Version, serving) {
		u.refuse(name, m.Version, fmt.Errorf("version %s is not newer than the serving %s (replayed or old manifest)", m.Version, serving))
		return
	}
	if reason, failed := u.store.Failed(m); failed {
		u.log.Debug("manifest already refused", "model", name, "version", m.Version, "reason", reason)
		return
	}
	if cur := u.transfers[name]; cur != nil {
		if cur.m.Digest() == m.Digest() {
			return
		}
		u.endTransfer(name)
	}
	if u.probation[name] != nil {
		u.endProbation(name)
	}
	if u.store.HasModel(name, m.Version) && u.sameStaged(m) {
		u.install(m, u.store.ModelPath(name, m.Version))
		return
	}
	tr, err := u.store.Begin(m)
	if err != nil {
		u.fail(name, m, err, false)
		return
	}
	t := &transfer{m: m, tr: tr, filter: update.ChunkFilter(u.prefix(), name, m.Version),
		deadline: time.Now().Add(u.cfg.ChunkTimeout.Std())}
	u.transfers[name] = t
	u.log.Info("model update accepted", "model", name, "version", m.Version, "size", m.Size,
		"chunks", m.Chunks, "have", tr.Received(), "key_id", m.KeyID)
	u.progress(t)
	if tr.Complete() {
		u.assemble(name, t)
		return
	}
	u.subscribeChunks(t)
}

// subscribeChunks subscribes to the chunks of a transfer on the live
// connection; the broker then sends every retained chunk of the version.
func (u *updater) subscribeChunks(t *transfer) {
	c := u.currentClient()
	if c == nil {
		return
	}
	c.Subscribe(t.filter, 1, func(_ mqtt.Client, msg mqtt.Message) {
		topicName, p := msg.Topic(), append([]byte(nil), msg.Payload()...)
		u.enqueue(func() { u.handleChunk(topicName, p) })
	})
}

// handleChunk stores one chunk and finishes the transfer with the last one.
func (u *updater) handleChunk(topicName string, payload []byte) {
	name, version, i, err := update.ParseChunkTopic(u.prefix(), topicName)
	if len(payload) == 0 {
		return // a retained chunk being cleared, not data
	}
	if err != nil {
		u.log.Debug("not a chunk topic", "topic", topicName)
		return
	}
	t := u.transfers[name]
	if t == nil || t.m.Version != version {
		if _, err := os.Stat(u.store.VersionDir(name, version)); err == nil || version == u.state(name).Serving {
			return // a late copy of a chunk of a version already handled
		}
		u.refuse(name, version, fmt.Errorf("chunk %d for unknown version %s of model %s", i, version, name))
		return
	}
	had := t.tr.Received()
	if err := t.tr.Put(i, payload); err != nil {
		u.fail(name, t.m, err, errors.Is(err, update.ErrChunk))
		return
	}
	if t.tr.Received() == had {
		return
	}
	t.deadline = time.Now().Add(u.cfg.ChunkTimeout.Std())
	u.progress(t)
	if t.tr.Complete() {
		u.assemble(name, t)
	}
}

// assemble verifies the complete file and installs it.
func (u *updater) assemble(name string, t *transfer) {
	u.endTransfer(name)
	path, err := t.tr.Assemble()
	if err != nil {
		u.fail(name, t.m, err, errors.Is(err, update.ErrIntegrity))
		return
	}
	u.install(t.m, path)
}

// checkTimeouts gives up transfers whose missing chunks did not come in time.
// They resume when the manifest is delivered again (on reconnect).
func (u *updater) checkTimeouts() {
	now := time.Now()
	for name, t := range u.transfers {
		if now.Before(t.deadline) {
			continue
		}
		missing := t.tr.Missing()
		shown := fmt.Sprint(missing)
		if len(missing) > 10 {
			shown = fmt.Sprintf("%v and %d more", missing[:10], len(missing)-10)
		}
		u.endTransfer(name)
		u.fail(name, t.m, fmt.Errorf("chunks %s never came within updates.chunk_timeout %s (timeout); the transfer resumes when the manifest comes again",
			shown, u.cfg.ChunkTimeout), false)
	}
}

// endTransfer stops a transfer and its chunk subscription.
func (u *updater) endTransfer(name string) {
	t := u.transfers[name]
	if t == nil {
		return
	}
	delete(u.transfers, name)
	if c := u.currentClient(); c != nil && c.IsConnectionOpen() {
		c.Unsubscribe(t.filter)
	}
}

// fail reports a failed transfer or validation; permanent failures are
// recorded so the same manifest is not fetched again.
func (u *updater) fail(name string, m *update.Manifest, err error, permanent bool) {
	u.endTransfer(name)
	if permanent {
		if merr := u.store.MarkFailed(m, err.Error()); merr != nil {
			u.log.Error("failure not recorded", "model", name, "err", merr)
		}
	}
	u.log.Warn("model update failed", "model", name, "version", m.Version, "err", err)
	u.setState(name, func(s *modelState) {
		s.State, s.Staged, s.LastError = stateFailed, "", fmt.Sprintf("%s: %v", m.Version, err)
	})
}

// progress reports a transfer's progress.
func (u *updater) progress(t *transfer) {
	u.setState(t.m.Name, func(s *modelState) {
		s.State, s.Staged = stateFetching, t.m.Version
		s.Received, s.Chunks = t.tr.Received(), t.m.Chunks
	})
}
