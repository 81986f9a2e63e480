//go:build bench

package uplink

import (
	"testing"

	"github.com/lineside/lineside/internal/benchfmt"
)

// TestBenchDrain drains a 100,000-record backlog to a local mosquitto at QoS
// 1 and compares with mosquitto_pub -l -q 1 sending the same payloads in the
// same run.
func TestBenchDrain(t *testing.T) {
	up, pub := drainBacklog(t)
	benchfmt.Print(nil, "uplink.drain_msgs_per_s_qos1", up, "msgs/s", pub, benchfmt.Higher)
}
