package stream

import (
	"bufio"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"gocv.io/x/gocv"

	"github.com/lineside/lineside/camera"
)

// maxPart bounds one JPEG of an MJPEG stream (a 4K JPEG is a few MiB).
const maxPart = 32 << 20

// maxBadParts is how many undecodable parts in a row make the stream lost.
const maxBadParts = 10

// mjpegReader reads an HTTP multipart/x-mixed-replace MJPEG stream itself and
// decodes each part with OpenCV. OpenCV 4.6's FFmpeg backend keeps the first
// frame size of a stream and returns stale images after the camera changes
// resolution; decoding part by part follows any change, and lets a timer
// abort a blocked read by closing the connection.
type mjpegReader struct {
	display string
	timeout time.Duration
	resp    *http.Response
	parts   *multipart.Reader
	buf     []byte
	bad     int
	expired atomic.Bool // a read timed out and the connection was closed
}

// openMJPEG starts a GET and returns a reader when the answer is a multipart
// stream; for any other answer it returns nil and closes the response, so the
// caller can let FFmpeg read the URL.
func openMJPEG(url, display string, openTimeout, readTimeout time.Duration) (*mjpegReader, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	client := &http.Client{Transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: openTimeout}).DialContext,
		ResponseHeaderTimeout: openTimeout,
		TLSHandshakeTimeout:   openTimeout,
		DisableKeepAlives:     true,
	}}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("http status %s", resp.Status)
	}
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		resp.Body.Close()
		return nil, nil
	}
	return &mjpegReader{
		display: display,
		timeout: readTimeout,
		resp:    resp,
		parts:   multipart.NewReader(bufio.NewReaderSize(resp.Body, 64<<10), params["boundary"]),
	}, nil
}

// read decodes the next part into dst. A read that takes longer than the
// timeout is aborted by closing the connection.
func (r *mjpegReader) read(dst *gocv.Mat) error {
	t := time.AfterFunc(r.timeout, func() {
		r.expired.Store(true) // before the close, so the failed read sees it
		r.resp.Body.Close()
	})
	data, err := r.next()
	t.Stop()
	if err != nil {
		if r.expired.Load() {
			return fmt.Errorf("stream %s: no frame within read_timeout=%s", r.display, r.timeout)
		}
		return fmt.Errorf("stream %s: stream ended or connection lost: %w", r.display, err)
	}
	img, err := gocv.IMDecode(data, gocv.IMReadColor)
	if err != nil || img.Empty() {
		img.Close()
		r.bad++
		if r.bad >= maxBadParts {
			return fmt.Errorf("stream %s: %d parts in a row are not decodable images", r.display, r.bad)
		}
		return fmt.Errorf("stream %s: part of %d bytes is not a decodable image: %w", r.display, len(data), camera.ErrBadFrame)
	}
	r.bad = 0
	old := *dst
	*dst = img
	old.Close()
	return nil
}

// next returns the bytes of the next part.
func (r *mjpegReader) next() ([]byte, error) {
	p, err := r.parts.NextPart()
	if err != nil {
		return nil, err
	}
	defer p.Close()
	// With a Content-Length, read exactly that: a camera that closes right
	// after a part sends no closing boundary, and the part is still whole.
	if n, err := strconv.Atoi(p.Header.Get("Content-Length")); err == nil && n > 0 && n <= maxPart {
		if cap(r.buf) < n {
			r.buf = make([]byte, n)
		}
		r.buf = r.buf[:n]
		if _, err := io.ReadFull(p, r.buf); err != nil {
			return nil, err
		}
		return r.buf, nil
	}
	r.buf = r.buf[:0]
	for {
		if len(r.buf) == cap(r.buf) {
			r.buf = append(r.buf, 0)[:len(r.buf)]
		}
		n, err := p.Read(r.buf[len(r.buf):cap(r.buf)])
		r.buf = r.buf[:len(r.buf)+n]
		if err == io.EOF {
			return r.buf, nil
		}
		if err != nil {
			return nil, err
		}
		if len(r.buf) > maxPart {
			return nil, fmt.Errorf("part larger than %d bytes", maxPart)
		}
	}
}

// close ends the connection.
func (r *mjpegReader) close() { r.resp.Body.Close() }
