package acache

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// partialContent is the representation the range origins serve.
const partialContent = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// rangeOrigin is an origin that answers Range and If-Range itself
// (http.ServeContent), counts the requests and the body bytes it writes, and
// records the Range and If-Range of each request.
type rangeOrigin struct {
	*testOrigin
	sent atomic.Int64 // body bytes written

	// mu guards the fields below.
	mu           sync.Mutex
	body         []byte
	etag         string // "" for none
	cacheControl string
	lastModified time.Time // zero for none
	noRanges     bool      // answer every request 200, without Accept-Ranges
	// cutAt, when not 0, cuts the body of a request without a Range short
	// after that many bytes: the connection is closed mid-body.
	cutAt int
	seen  []string // "Range|If-Range" of each request
}

func newRangeOrigin(t *testing.T, clock *testClock, body []byte, etag string) *rangeOrigin {
	t.Helper()
	o := &rangeOrigin{body: body, etag: etag, cacheControl: "max-age=60"}
	o.testOrigin = newOrigin(t, clock, func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.seen = append(o.seen, r.Header.Get("Range")+"|"+r.Header.Get("If-Range"))
		body, etag, cc, modtime, noRanges, cutAt := o.body, o.etag, o.cacheControl, o.lastModified, o.noRanges, o.cutAt
		o.mu.Unlock()
		w.Header().Set("Cache-Control", cc)
		if etag != "" {
			w.Header().Set("ETag", etag)
		}
		cw := &countingWriter{ResponseWriter: w, n: &o.sent}
		if cutAt > 0 && r.Header.Get("Range") == "" {
			if !noRanges {
				w.Header().Set("Accept-Ranges", "bytes")
			}
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			cw.Write(body[:cutAt])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // the connection closes mid-body
		}
		if noRanges {
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			cw.Write(body)
			return
		}
		http.ServeContent(cw, r, "", modtime, bytes.NewReader(body))
	})
	return o
}

// set changes what the origin serves from now on.
func (o *rangeOrigin) set(f func(o *rangeOrigin)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	f(o)
}

// requests returns "Range|If-Range" of each request the origin received.
func (o *rangeOrigin) requests() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.seen...)
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n.Add(int64(n))
	return n, err
}

// rangeStep is one request of a partial-content case.
type rangeStep struct {
	header http.Header
	method string // GET if empty
	read   int    // bytes to read before closing the body; 0 reads it all
	cut    bool   // want the body cut short by the origin: a read error after body
	after  time.Duration
	change func(o *rangeOrigin) // applied to the origin before the request
	mode   Mode                 // the request's Control.Mode
	err    error                // want RoundTrip to fail with it

	status int    // want this status
	body   string // want these bytes read
	hit    bool   // want it served from the cache
	// origin is the "Range|If-Range" the origin must receive for this
	// request, or "" when it must not be contacted.
	origin string
	check  func(t *testing.T, resp *http.Response)
}

type rangeCase struct {
	name string
	etag string // the origin's ETag; `"v1"` if empty, "-" for none
	opts []Option
	prep func(o *rangeOrigin)
	// steps run in order against one Transport and one origin.
	steps []rangeStep
}

func runRangeCases(t *testing.T, cases []rangeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := newTestClock()
			etag := orDefault(tc.etag, `"v1"`)
			if etag == "-" {
				etag = ""
			}
			o := newRangeOrigin(t, clock, []byte(partialContent), etag)
			if tc.prep != nil {
				o.set(tc.prep)
			}
			tr := newTestTransport(clock, tc.opts...)
			for i, s := range tc.steps {
				clock.Advance(s.after)
				if s.change != nil {
					o.set(s.change)
				}
				before := len(o.requests())
				req, err := http.NewRequest(orDefault(s.method, http.MethodGet), o.URL+"/file", nil)
				require.NoError(t, err)
				for name, values := range s.header {
					req.Header[name] = values
				}
				if s.mode != ModeDefault {
					req = req.WithContext(WithControl(req.Context(), Control{Mode: s.mode}))
				}
				resp, err := tr.RoundTrip(req)
				if s.err != nil {
					assert.ErrorIs(t, err, s.err, "step %d", i)
					assert.Len(t, o.requests(), before, "step %d: the origin was contacted", i)
					continue
				}
				require.NoError(t, err)
				var got []byte
				if s.read > 0 {
					got, err = io.ReadAll(io.LimitReader(resp.Body, int64(s.read)))
				} else {
					got, err = io.ReadAll(resp.Body)
				}
				if s.cut {
					require.ErrorIs(t, err, io.ErrUnexpectedEOF, "step %d: the body was cut short", i)
				} else {
					require.NoError(t, err)
				}
				require.NoError(t, resp.Body.Close())

				assert.Equal(t, s.status, resp.StatusCode, "step %d: status (Cache-Status %q)", i, resp.Header["Cache-Status"])
				assert.Equal(t, s.body, string(got), "step %d: the caller would read other bytes", i)
				assert.Equal(t, s.hit, isHit(resp), "step %d: hit; Cache-Status %q", i, resp.Header["Cache-Status"])
				if s.read == 0 && !s.cut && s.method != http.MethodHead {
					assert.EqualValues(t, len(got), resp.ContentLength, "step %d: ContentLength", i)
				}
				seen := o.requests()[before:]
				if s.origin == "" {
					assert.Empty(t, seen, "step %d: the origin was contacted", i)
				} else {
					assert.Equal(t, []string{s.origin}, seen, "step %d: what the origin was asked", i)
				}
				if s.check != nil {
					s.check(t, resp)
				}
			}
		})
	}
}

// cutAt makes the origin cut the bodies of requests without a Range short
// after n bytes.
func cutAt(n int) func(o *rangeOrigin) {
	return func(o *rangeOrigin) { o.cutAt = n }
}

// part returns bytes [first, last] of partialContent.
func part(first, last int) string { return partialContent[first : last+1] }

var partialSize = fmt.Sprint(len(partialContent))

func TestRFC9111_3_3_IncompleteResponses(t *testing.T) {
	t.Parallel()
	contentRange := func(want string) func(t *testing.T, resp *http.Response) {
		return func(t *testing.T, resp *http.Response) {
			assert.Equal(t, want, resp.Header.Get("Content-Range"))
		}
	}
	runRangeCases(t, []rangeCase{
		{name: "3.3 a 206 with a strong validator is stored and answers a range it covers", steps: []rangeStep{
			{header: hdr("Range", "bytes=0-19"), status: 206, body: part(0, 19), origin: "bytes=0-19|"},
			{header: hdr("Range", "bytes=2-5"), status: 206, body: part(2, 5), hit: true,
				check: contentRange("bytes 2-5/" + partialSize)},
			{header: hdr("Range", "bytes=0-19"), status: 206, body: part(0, 19), hit: true},
		}},
		{name: "3.3 a 206 with a weak validator is not stored", etag: `W/"v1"`, steps: []rangeStep{
			{header: hdr("Range", "bytes=0-19"), status: 206, body: part(0, 19), origin: "bytes=0-19|"},
			{header: hdr("Range", "bytes=2-5"), status: 206, body: part(2, 5), origin: "bytes=2-5|"},
		}},
		{name: "3.3 a 206 without a validator is not stored", etag: "-", steps: []rangeStep{
			{header: hdr("Range", "bytes=0-19"), status: 206, body: part(0, 19), origin: "bytes=0-19|"},
			{header: hdr("Range", "bytes=2-5"), status: 206, body: part(2, 5), origin: "bytes=2-5|"},
		}},
		{name: "3.3 an incomplete response is never served as a complete one", steps: []rangeStep{
			{header: hdr("Range", "bytes=0-9"), status: 206, body: part(0, 9), origin: "bytes=0-9|"},
			{header: hdr("Cache-Control", "only-if-cached"), status: 504, body: ""},
			{method: http.MethodHead, status: 200, body: "", origin: "|"},
		}},
		{name: "3.3 Fetch modes never serve an incomplete response whole", steps: []rangeStep{
			{header: hdr("Range", "bytes=0-9"), status: 206, body: part(0, 9), origin: "bytes=0-9|"},
			{mode: ModeOnlyIfCached, err: ErrNotCached},
			{mode: ModeOnlyIfCached, header: hdr("Range", "bytes=0-4"), status: 206, body: part(0, 4), hit: true},
			{mode: ModeForceCache, read: 12, status: 200, body: part(0, 11), origin: fmt.Sprintf(`bytes=10-%d|"v1"`, len(partialContent)-1)},
			{mode: ModeReload, header: hdr("Range", "bytes=0-4"), status: 206, body: part(0, 4), origin: "bytes=0-4|"},
		}},
		{name: "3.3 a range not covered goes to the origin", steps: []rangeStep{
			{header: hdr("Range", "bytes=20-29"), status: 206, body: part(20, 29), origin: "bytes=20-29|"},
			{header: hdr("Range", "bytes=0-4"), status: 206, body: part(0, 4), origin: "bytes=0-4|"},
		}},
		{name: "3.3 an unsatisfiable range is answered 416 from what the part says of the length", steps: []rangeStep{
			{header: hdr("Range", "bytes=0-9"), status: 206, body: part(0, 9), origin: "bytes=0-9|"},
			{header: hdr("Range", "bytes=100-"), status: 416, body: "", hit: true,
				check: contentRange("bytes */" + partialSize)},
		}},
		{name: "3.3 a body cut short is stored as the incomplete response it is", prep: cutAt(10), steps: []rangeStep{
			{cut: true, status: 200, body: part(0, 9), origin: "|"},
			{header: hdr("Range", "bytes=0-9"), status: 206, body: part(0, 9), hit: true,
				check: contentRange("bytes 0-9/" + partialSize)},
			{header: hdr("Range", "bytes=3-12"), status: 206, body: part(3, 12), origin: `bytes=10-12|"v1"`},
			{header: hdr("Range", "bytes=0-12"), status: 206, body: part(0, 12), hit: true},
		}},
		{name: "3.3 a 206 cut short keeps the bytes that arrived", steps: []rangeStep{
			{header: hdr("Range", "bytes=10-"), read: 5, status: 206, body: part(10, 14), origin: "bytes=10-|"},
			{header: hdr("Range", "bytes=10-14"), status: 206, body: part(10, 14), hit: true},
		}},
		{name: "3.3 a body cut short without Accept-Ranges is not stored",
			prep: func(o *rangeOrigin) { o.noRanges, o.cutAt = true, 10 }, steps: []rangeStep{
				{cut: true, status: 200, body: part(0, 9), origin: "|"},
				{header: hdr("Range", "bytes=0-9"), status: 200, body: partialContent, origin: "bytes=0-9|"},
			}},
		{name: "3.3 a body cut short without a strong validator is not stored", etag: `W/"v1"`, prep: cutAt(10), steps: []rangeStep{
			{cut: true, status: 200, body: part(0, 9), origin: "|"},
			{header: hdr("Range", "bytes=0-9"), status: 206, body: part(0, 9), origin: "bytes=0-9|"},
		}},
		{name: "3.3 an incomplete response is fresh by its own fields, and revalidated when stale", steps: []rangeStep{
			{header: hdr("Range", "bytes=0-9"), status: 206, body: part(0, 9), origin: "bytes=0-9|"},
			{after: 2 * time.Minute, header: hdr("Range", "bytes=0-9"), status: 206, body: part(0, 9), origin: "bytes=0-9|"},
			{header: hdr("Range", "bytes=0-9"), status: 206, body: part(0, 9), hit: true},
		}},
		{name: "3.3 WithMaxBodySize bounds an incomplete response", opts: []Option{WithMaxBodySize(8)}, steps: []rangeStep{
			{header: hdr("Range", "bytes=0-9"), status: 206, body: part(0, 9), origin: "bytes=0-9|"},
			{header: hdr("Range", "bytes=0-9"), status: 206, body: part(0, 9), origin: "bytes=0-9|"},
			{header: hdr("Range", "bytes=0-7"), status: 206, body: part(0, 7), origin: "bytes=0-7|"},
			{header: hdr("Range", "bytes=0-7"), status: 206, body: part(0, 7), hit: true},
		}},
		{name: "3.3 a request max-age the part is too old for goes to the origin", steps: []rangeStep{
			{header: hdr("Range", "bytes=0-9"), status: 206, body: part(0, 9), origin: "bytes=0-9|"},
			{after: 10 * time.Second, header: hdr("Range", "bytes=0-9", "Cache-Control", "max-age=5"),
				status: 206, body: part(0, 9), origin: "bytes=0-9|"},
		}},
	})
}

func TestRFC9111_3_4_CombiningPartialContent(t *testing.T) {
	t.Parallel()
	last := len(partialContent) - 1
	tail := fmt.Sprintf(`bytes=10-%d|"v1"`, last)
	runRangeCases(t, []rangeCase{
		{name: "3.4 only the missing part is fetched, with If-Range, and the two combined", steps: []rangeStep{
			{header: hdr("Range", "bytes=0-9"), status: 206, body: part(0, 9), origin: "bytes=0-9|"},
			{header: hdr("Range", "bytes=5-19"), status: 206, body: part(5, 19), origin: `bytes=10-19|"v1"`,
				check: func(t *testing.T, resp *http.Response) {
					assert.Equal(t, "bytes 5-19/"+partialSize, resp.Header.Get("Content-Range"))
					assert.Equal(t, "15", resp.Header.Get("Content-Length"))
				}},
			{header: hdr("Range", "bytes=0-19"), status: 206, body: part(0, 19), hit: true},
		}},
		{name: "3.4 a GET is completed from the missing part and then served whole", steps: []rangeStep{
			{header: hdr("Range", "bytes=0-9"), status: 206, body: part(0, 9), origin: "bytes=0-9|"},
			{status: 200, body: partialContent, origin: tail, check: func(t *testing.T, resp *http.Response) {
				assert.Empty(t, resp.Header.Get("Content-Range"), "a 200 has no Content-Range")
			}},
			{status: 200, body: partialContent, hit: true},
			{method: http.MethodHead, status: 200, body: "", hit: true},
		}},
		{name: "3.4 a range starting where the part ends is fetched alone and combined", steps: []rangeStep{
			{header: hdr("Range", "bytes=0-9"), status: 206, body: part(0, 9), origin: "bytes=0-9|"},
			{header: hdr("Range", "bytes=10-"), status: 206, body: part(10, last), origin: tail},
			{status: 200, body: partialContent, hit: true},
		}},
		{name: "3.4 a changed validator: the origin's 200 replaces the part", steps: []rangeStep{
			{header: hdr("Range", "bytes=0-9"), status: 206, body: part(0, 9), origin: "bytes=0-9|"},
			{change: func(o *rangeOrigin) { o.etag, o.body = `"v2"`, []byte(strings.ToUpper(partialContent)) },
				header: hdr("Range", "bytes=5-19"), status: 200, body: strings.ToUpper(partialContent), origin: `bytes=10-19|"v1"`},
			{status: 200, body: strings.ToUpper(partialContent), hit: true},
		}},
		{name: "3.4 parts that touch are combined", steps: []rangeStep{
			{header: hdr("Range", "bytes=20-29"), status: 206, body: part(20, 29), origin: "bytes=20-29|"},
			{header: hdr("Range", "bytes=10-19"), status: 206, body: part(10, 19), origin: "bytes=10-19|"},
			{header: hdr("Range", "bytes=10-29"), status: 206, body: part(10, 29), hit: true},
		}},
		{name: "3.4 parts that overlap are combined", steps: []rangeStep{
			{header: hdr("Range", "bytes=20-29"), status: 206, body: part(20, 29), origin: "bytes=20-29|"},
			{header: hdr("Range", "bytes=15-24"), status: 206, body: part(15, 24), origin: "bytes=15-24|"},
			{header: hdr("Range", "bytes=15-29"), status: 206, body: part(15, 29), hit: true},
		}},
		{name: "3.4 parts with a gap between them: the newer replaces the older", steps: []rangeStep{
			{header: hdr("Range", "bytes=0-9"), status: 206, body: part(0, 9), origin: "bytes=0-9|"},
			{header: hdr("Range", "bytes=30-39"), status: 206, body: part(30, 39), origin: "bytes=30-39|"},
			{header: hdr("Range", "bytes=30-39"), status: 206, body: part(30, 39), hit: true},
			{header: hdr("Range", "bytes=0-9"), status: 206, body: part(0, 9), origin: "bytes=0-9|"},
		}},
		{name: "3.4 parts of different representations are not combined", steps: []rangeStep{
			{header: hdr("Range", "bytes=20-29"), status: 206, body: part(20, 29), origin: "bytes=20-29|"},
			{change: func(o *rangeOrigin) { o.etag = `"v2"` },
				header: hdr("Range", "bytes=10-19"), status: 206, body: part(10, 19), origin: "bytes=10-19|"},
			{header: hdr("Range", "bytes=10-19"), status: 206, body: part(10, 19), hit: true},
			{header: hdr("Range", "bytes=20-29"), status: 206, body: part(20, 29), origin: `bytes=20-29|"v2"`},
		}},
		{name: "3.4 a stale part is confirmed by the If-Range of the missing part", steps: []rangeStep{
			{header: hdr("Range", "bytes=0-9"), status: 206, body: part(0, 9), origin: "bytes=0-9|"},
			{after: 2 * time.Minute, header: hdr("Range", "bytes=0-19"), status: 206, body: part(0, 19), origin: `bytes=10-19|"v1"`},
			{header: hdr("Range", "bytes=0-19"), status: 206, body: part(0, 19), hit: true},
		}},
		{name: "3.4 a part of a stored complete response does not replace it", steps: []rangeStep{
			{status: 200, body: partialContent, origin: "|"},
			{mode: ModeReload, header: hdr("Range", "bytes=0-9"), status: 206, body: part(0, 9), origin: `bytes=0-9|`},
			{status: 200, body: partialContent, hit: true},
		}},
		{name: "3.4 the part fetched to complete a GET is stored when cut short",
			steps: []rangeStep{
				{header: hdr("Range", "bytes=0-9"), status: 206, body: part(0, 9), origin: "bytes=0-9|"},
				{read: 15, status: 200, body: part(0, 14), origin: tail},
				{header: hdr("Range", "bytes=0-14"), status: 206, body: part(0, 14), hit: true},
			}},
	})
}

func TestRFC9111_3_4_ContentRangeOn200IsComplete(t *testing.T) {
	t.Parallel()
	runRFCCases(t, []rfcCase{
		{name: "3.4 a 200 with Content-Range is stored like any 200",
			header: hdr("Cache-Control", "max-age=60", "Content-Range", "bytes 0-3/10"),
			probes: []probe{{}, {hit: true, status: 200}}},
	})
}

func TestRFC9110_13_1_5_IfRange(t *testing.T) {
	t.Parallel()
	modified := t0.Add(-time.Hour)
	withDate := func(o *rangeOrigin) { o.lastModified = modified }
	runRangeCases(t, []rangeCase{
		{name: "13.1.5 a matching strong entity-tag: the range from the cache", steps: []rangeStep{
			{status: 200, body: partialContent, origin: "|"},
			{header: hdr("Range", "bytes=2-5", "If-Range", `"v1"`), status: 206, body: part(2, 5), hit: true},
		}},
		{name: "13.1.5 another entity-tag: the whole response from the cache", steps: []rangeStep{
			{status: 200, body: partialContent, origin: "|"},
			{header: hdr("Range", "bytes=2-5", "If-Range", `"v0"`), status: 200, body: partialContent, hit: true},
		}},
		{name: "13.1.5 a weak entity-tag never matches", steps: []rangeStep{
			{status: 200, body: partialContent, origin: "|"},
			{header: hdr("Range", "bytes=2-5", "If-Range", `W/"v1"`), status: 200, body: partialContent, hit: true},
		}},
		{name: "13.1.5 an invalid If-Range never matches", steps: []rangeStep{
			{status: 200, body: partialContent, origin: "|"},
			{header: hdr("Range", "bytes=2-5", "If-Range", `yesterday`), status: 200, body: partialContent, hit: true},
		}},
		{name: "13.1.5 a date equal to a strong Last-Modified matches", prep: withDate, steps: []rangeStep{
			{status: 200, body: partialContent, origin: "|"},
			{header: hdr("Range", "bytes=2-5", "If-Range", modified.Format(http.TimeFormat)), status: 206, body: part(2, 5), hit: true},
		}},
		{name: "13.1.5 another date does not match", prep: withDate, steps: []rangeStep{
			{status: 200, body: partialContent, origin: "|"},
			{header: hdr("Range", "bytes=2-5", "If-Range", modified.Add(-time.Second).Format(http.TimeFormat)),
				status: 200, body: partialContent, hit: true},
		}},
		{name: "8.8.2.2 a Last-Modified within a second of Date is weak: no match",
			prep: func(o *rangeOrigin) { o.lastModified = t0 }, steps: []rangeStep{
				{status: 200, body: partialContent, origin: "|"},
				{header: hdr("Range", "bytes=2-5", "If-Range", t0.Format(http.TimeFormat)),
					status: 200, body: partialContent, hit: true},
			}},
		{name: "13.1.5 without a strong validator stored, the origin evaluates it", etag: `W/"v1"`, steps: []rangeStep{
			{status: 200, body: partialContent, origin: "|"},
			{header: hdr("Range", "bytes=2-5", "If-Range", `W/"v1"`), status: 200, body: partialContent, origin: `bytes=2-5|W/"v1"`},
		}},
		{name: "13.1.5 If-Range without Range is ignored", steps: []rangeStep{
			{status: 200, body: partialContent, origin: "|"},
			{header: hdr("If-Range", `"v0"`), status: 200, body: partialContent, hit: true},
		}},
		{name: "13.1.5 a stale response is revalidated, then the range is served", steps: []rangeStep{
			{status: 200, body: partialContent, origin: "|"},
			{after: 2 * time.Minute, header: hdr("Range", "bytes=2-5", "If-Range", `"v1"`),
				status: 206, body: part(2, 5), origin: `bytes=2-5|"v1"`},
		}},
		{name: "13.1.5 a matching If-Range on an incomplete response uses its bytes", steps: []rangeStep{
			{header: hdr("Range", "bytes=0-9"), status: 206, body: part(0, 9), origin: "bytes=0-9|"},
			{header: hdr("Range", "bytes=2-5", "If-Range", `"v1"`), status: 206, body: part(2, 5), hit: true},
			{header: hdr("Range", "bytes=5-14", "If-Range", `"v1"`), status: 206, body: part(5, 14), origin: `bytes=10-14|"v1"`},
		}},
		{name: "13.1.5 another If-Range on an incomplete response goes to the origin", steps: []rangeStep{
			{header: hdr("Range", "bytes=0-9"), status: 206, body: part(0, 9), origin: "bytes=0-9|"},
			{header: hdr("Range", "bytes=2-5", "If-Range", `"v0"`), status: 200, body: partialContent, origin: `bytes=2-5|"v0"`},
			{status: 200, body: partialContent, hit: true},
		}},
	})
}

// TestRFC9111_3_4_ResumedDownloadFetchesEachByteOnce downloads 10 MiB in three
// Range requests, each cut short by the client where the next resumes, then
// asks for the whole: the origin delivers each byte once, and the whole is
// served from the cache byte for byte.
func TestRFC9111_3_4_ResumedDownloadFetchesEachByteOnce(t *testing.T) {
	t.Parallel()
	const size = 10 << 20
	content := make([]byte, size)
	rand.Read(content)
	clock := newTestClock()
	o := newRangeOrigin(t, clock, content, `"big"`)
	o.set(func(o *rangeOrigin) { o.cacheControl = "max-age=3600" })

	// delivered counts the body bytes that came from the origin into the
	// cache: those the origin wrote but the cache never read (socket
	// buffers of a connection closed early) were not delivered.
	var delivered atomic.Int64
	tr := newTestTransport(clock, WithMaxBodySize(16<<20), WithMaxBytes(64<<20))
	tr.Transport = roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := unclosable{testInner}.RoundTrip(req)
		if err == nil {
			resp.Body = &deliveredBody{ReadCloser: resp.Body, n: &delivered}
		}
		return resp, err
	})

	var got bytes.Buffer
	stops := []int{size / 3, 2*size/3 + 12345, size}
	for i, stop := range stops {
		req, err := http.NewRequest(http.MethodGet, o.URL+"/big", nil)
		require.NoError(t, err)
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", got.Len()))
		if i > 0 {
			req.Header.Set("If-Range", `"big"`) // as resuming downloaders send it
		}
		resp, err := tr.RoundTrip(req)
		require.NoError(t, err)
		require.Equal(t, http.StatusPartialContent, resp.StatusCode, "download %d", i)
		require.Equal(t, fmt.Sprintf("bytes %d-%d/%d", got.Len(), size-1, size), resp.Header.Get("Content-Range"))
		_, err = io.CopyN(&got, resp.Body, int64(stop-got.Len()))
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close()) // the download is interrupted
	}
	require.True(t, bytes.Equal(content, got.Bytes()), "the resumed download is the representation byte for byte")

	hits := o.hits.Load()
	resp, body := fetch(t, tr, http.MethodGet, o.URL+"/big", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.True(t, isHit(resp), "the whole was stored from the three parts: %q", resp.Header["Cache-Status"])
	assert.Equal(t, hits, o.hits.Load(), "the final GET did not reach the origin")
	assert.True(t, body == string(content), "the final body is the representation byte for byte")

	assert.EqualValues(t, size, delivered.Load(), "the origin delivered each byte once")
	want := []string{
		"bytes=0-|",
		fmt.Sprintf(`bytes=%d-%d|"big"`, stops[0], size-1),
		fmt.Sprintf(`bytes=%d-%d|"big"`, stops[1], size-1),
	}
	assert.Equal(t, want, o.requests(), "each request asked the origin only for bytes the cache did not hold")
	t.Logf("the origin wrote %d body bytes in all; %d reached the cache", o.sent.Load(), delivered.Load())
}

type deliveredBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *deliveredBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func TestUnion(t *testing.T) {
	t.Parallel()
	p := func(first int64, s string) piece { return piece{first, []byte(s)} }
	for _, tc := range []struct {
		name     string
		old, new piece
		want     piece
		ok       bool
	}{
		{"touching after", p(0, "abc"), p(3, "def"), p(0, "abcdef"), true},
		{"touching before", p(3, "def"), p(0, "abc"), p(0, "abcdef"), true},
		{"overlapping", p(0, "abcd"), p(2, "CDEF"), p(0, "abCDEF"), true},
		{"new inside old", p(0, "abcdef"), p(2, "CD"), p(0, "abCDef"), true},
		{"new covers old", p(2, "cd"), p(0, "ABCDEF"), p(0, "ABCDEF"), true},
		{"a gap", p(0, "abc"), p(4, "efg"), piece{}, false},
		{"a gap before", p(4, "efg"), p(0, "abc"), piece{}, false},
	} {
		got, ok := union(tc.old, tc.new)
		assert.Equal(t, tc.ok, ok, tc.name)
		assert.Equal(t, tc.want, got, tc.name)
	}
}

func TestTeeStoresTheBytesBeforeAReadError(t *testing.T) {
	t.Parallel()
	c := NewCache(nil)
	var stored []byte
	done := 0
	b := &teeBody{
		body:        io.NopCloser(io.MultiReader(strings.NewReader("abc"), &failingReader{data: "de"})),
		cache:       c,
		expected:    10,
		complete:    func([]byte) { t.Error("a body cut short is not complete") },
		interrupted: func(body []byte) { stored = body },
		done:        func() { done++ }, // for a copy dropped; interrupted's own job otherwise
	}
	_, err := io.ReadAll(b)
	require.Error(t, err)
	assert.Equal(t, "abc", string(stored), "the bytes that came with the error are not stored")
	require.NoError(t, b.Close())
	assert.Zero(t, done, "a copy handed to interrupted is not dropped as well")
	assert.Zero(t, c.inFlight.Load(), "the reservation is released")
}

// failingReader returns data together with an error.
type failingReader struct{ data string }

func (r *failingReader) Read(p []byte) (int, error) {
	n := copy(p, r.data)
	return n, io.ErrUnexpectedEOF
}

func TestValidEntryIncomplete(t *testing.T) {
	t.Parallel()
	c := NewCache(nil)
	good := func() *Entry {
		return &Entry{Key: "GET http://example.test/", StatusCode: 206, Proto: "HTTP/1.1",
			Header: http.Header{"Content-Range": {"bytes 2-4/10"}, "Content-Length": {"3"}, "Etag": {`"x"`}},
			Body:   []byte("cde")}
	}
	require.NoError(t, c.validEntry(good()))
	for name, spoil := range map[string]func(e *Entry){
		"no Content-Range":          func(e *Entry) { delete(e.Header, "Content-Range") },
		"an unknown length":         func(e *Entry) { e.Header["Content-Range"] = []string{"bytes 2-4/*"} },
		"a body of another length":  func(e *Entry) { e.Header["Content-Range"] = []string{"bytes 2-5/10"} },
		"a weak validator":          func(e *Entry) { e.Header["Etag"] = []string{`W/"x"`} },
		"no validator":              func(e *Entry) { delete(e.Header, "Etag") },
		"under a HEAD key":          func(e *Entry) { e.Key = "HEAD http://example.test/" },
		"two Content-Range members": func(e *Entry) { e.Header["Content-Range"] = []string{"bytes 2-4/10", "bytes 5-7/10"} },
	} {
		e := good()
		spoil(e)
		assert.ErrorIs(t, c.validEntry(e), ErrCorruptEntry, name)
	}
}

func TestRFC9111_3_3_IncompleteResponsesCountAgainstTheByteLimit(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	content := bytes.Repeat([]byte("x"), 4000)
	o := newRangeOrigin(t, clock, content, `"x"`)
	c := NewCache(nil, WithClock(clock.Now), WithMaxBytes(6000))
	tr := &Transport{Transport: unclosable{testInner}, Cache: c}

	resp, body := fetch(t, tr, http.MethodGet, o.URL+"/a", hdr("Range", "bytes=0-2999"))
	require.Equal(t, http.StatusPartialContent, resp.StatusCode)
	require.Len(t, body, 3000)
	stored := c.Stats().Bytes
	assert.Greater(t, stored, int64(3000), "the incomplete response's bytes are counted")

	// A second part of another URL does not fit beside the first: the
	// first is evicted, and the cache stays within its limit.
	fetch(t, tr, http.MethodGet, o.URL+"/b", hdr("Range", "bytes=0-2999"))
	assert.LessOrEqual(t, c.Stats().Bytes, int64(6000))
	assert.EqualValues(t, 1, c.Stats().Evictions)
	resp, _ = fetch(t, tr, http.MethodGet, o.URL+"/b", hdr("Range", "bytes=0-9"))
	assert.True(t, isHit(resp), "the newer part is stored")
	assert.Zero(t, c.Stats().InFlightBytes, "no reservation is left behind")
}

func TestRFC9211_PartialCacheStatus(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newRangeOrigin(t, clock, []byte(partialContent), `"v1"`)
	tr := newTestTransport(clock)
	fetch(t, tr, http.MethodGet, o.URL, hdr("Range", "bytes=0-9"))
	resp, _ := fetch(t, tr, http.MethodGet, o.URL, nil)
	s, ok := CacheStatusOf(resp)
	require.True(t, ok)
	assert.Equal(t, CacheStatus{Cache: "acache", Fwd: "partial", FwdStatus: 206, Stored: true, TTL: time.Minute}, s,
		"RFC 9211 Section 2.2: fwd=partial when the stored response was incomplete")
}

func TestRFC9111_3_4_CollapsedGETsWaitForTheCompletion(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	o := newRangeOrigin(t, clock, []byte(partialContent), `"v1"`)
	tr := newTestTransport(clock)
	fetch(t, tr, http.MethodGet, o.URL, hdr("Range", "bytes=0-9"))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, body := fetch(t, tr, http.MethodGet, o.URL, nil)
			assert.Equal(t, partialContent, body)
		})
	}
	wg.Wait()
	for _, seen := range o.requests()[1:] {
		assert.Equal(t, fmt.Sprintf(`bytes=10-%d|"v1"`, len(partialContent)-1), seen,
			"a GET for an incomplete response asks only for what is missing")
	}
	resp, body := fetch(t, tr, http.MethodGet, o.URL, nil)
	assert.True(t, isHit(resp))
	assert.Equal(t, partialContent, body)
}
