package sensors

import "errors"

// Source states reported in Health.State.
//
//	connecting ──connected──► connected ──lost──► reconnecting ──connected──► connected
//	     │ first attempt fails                        │ FailAfter attempts fail
//	     ▼                                            ▼
//	   failed ◄───────────────────────────────────────┘   (retries go on; connected again ends it)
//
// A source that never connected is failed at once, so a mistyped address is
// visible immediately; one that was connected and lost its peer is
// reconnecting until a few attempts have failed. Stopped is final.
const (
	// StateConnecting is the state before the first connection.
	StateConnecting = "connecting"
	// StateConnected means the source reads or receives values.
	StateConnected = "connected"
	// StateReconnecting means the connection was lost and is being
	// re-established with backoff.
	StateReconnecting = "reconnecting"
	// StateFailed means the source never connected, or its last attempts
	// failed, or its configuration cannot work; retries go on where they
	// can succeed.
	StateFailed = "failed"
	// StateStopped means Run has returned.
	StateStopped = "stopped"
)

// Reasons a sample carries an Err. Sources wrap them with the point and the
// detail, so errors.Is tells the kind apart for counting.
var (
	// ErrNotFinite marks a NaN or infinite value.
	ErrNotFinite = errors.New("value is not a finite number")
	// ErrOutOfRange marks a value outside the point's min/max.
	ErrOutOfRange = errors.New("value out of range")
	// ErrWrongType marks a value of a type the point cannot convert.
	ErrWrongType = errors.New("value of wrong type")
	// ErrStale marks a value whose timestamp is older than the point allows.
	ErrStale = errors.New("value is stale")
	// ErrMalformed marks a payload that cannot be decoded.
	ErrMalformed = errors.New("malformed payload")
	// ErrNoSuchPoint marks a point the peer does not know (an OPC UA node id
	// that does not exist, an illegal Modbus address).
	ErrNoSuchPoint = errors.New("no such point")
	// ErrReadFailed marks a point whose read failed (a bad status, a
	// request that timed out).
	ErrReadFailed = errors.New("read failed")
	// ErrDropout marks a reading the sensor did not deliver.
	ErrDropout = errors.New("dropout")
)
