package httpsource

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// readBody holds a whole body, however its length is announced, and
// refuses one past maxBodyBytes as permanent; the client then takes the
// held bytes as they are.
func TestReadBody(t *testing.T) {
	page := strings.Repeat(`{"id": 1}`, 1000)
	for _, tc := range []struct {
		name    string
		body    io.Reader
		length  int64
		want    string
		wantErr string
	}{
		{"announced", strings.NewReader(page), int64(len(page)), page, ""},
		{"unannounced", strings.NewReader(page), -1, page, ""},
		{"announced too long", strings.NewReader(page), 1 << 40, page, ""},
		{"empty", strings.NewReader(""), 0, "", ""},
		{"at the limit", io.LimitReader(zeros{}, maxBodyBytes), -1, strings.Repeat("\x00", maxBodyBytes), ""},
		{"past the limit", io.LimitReader(zeros{}, maxBodyBytes+1), -1, "", "response body larger than 64 MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := readBody(io.NopCloser(tc.body), tc.length, &buf)
			got := buf.Bytes()
			if tc.wantErr != "" {
				var permanent *permanentError
				if err == nil || err.Error() != tc.wantErr || !errors.As(err, &permanent) {
					t.Fatalf("err = %v, want the permanent %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %d bytes, %v; want %d", len(got), err, len(tc.want))
			}
			var pool bodyPool
			body := &bufferedBody{Reader: bytes.NewReader(got), buf: &buf, pool: &pool}
			held, err := bodyBytes(body)
			if err != nil || len(held) != len(got) || (len(got) > 0 && &held[0] != &got[0]) {
				t.Errorf("bodyBytes copied or lost the held body: %d bytes, %v", len(held), err)
			}
			// Closed twice, the buffer goes back to the pool at most once
			// (a sync.Pool may drop it), emptied.
			body.Close()
			body.Close()
			first, second := pool.get(), pool.get()
			if first == &buf && second == &buf {
				t.Errorf("the closed body's buffer was pooled twice")
			}
			if (first == &buf || second == &buf) && buf.Len() != 0 {
				t.Errorf("the pooled buffer holds %d bytes", buf.Len())
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
