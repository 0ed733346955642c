package acache

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/acachecontrol/acache/internal/httpsyntax"
)

// originCall is the context of the request that leads a flight sends to the
// origin: the caller's values without its cancellation, so that the body's
// fill (fill.go) can outlive the caller. Until a fill takes the call over,
// the caller's cancellation still ends it, as it would end a request sent
// without the cache, and closing the body ends it.
type originCall struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	// stop disconnects the call from the caller's cancellation.
	stop func() bool
	// req is the caller's request, and via the transport it was sent
	// through, for the requests that resume its body (resume).
	req *http.Request
	via http.RoundTripper
}

// detachedRequest returns req, to be sent via rt, with the context of a new
// originCall, and the call.
func detachedRequest(req *http.Request, rt http.RoundTripper) (*http.Request, *originCall) {
	callerCtx := req.Context()
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(callerCtx))
	call := &originCall{ctx: ctx, cancel: cancel, req: req, via: rt}
	call.stop = context.AfterFunc(callerCtx, func() { cancel(context.Cause(callerCtx)) })
	return req.WithContext(ctx), call
}

// takeOver disconnects the call from its caller's cancellation: a fill
// ends it from then on.
func (o *originCall) takeOver() {
	o.stop()
}

// end ends the call, once its response has been read or dropped.
func (o *originCall) end() {
	o.stop()
	o.cancel(context.Canceled)
}

// callBody is the body of an originCall's response that no fill took over:
// closing it ends the call.
type callBody struct {
	io.ReadCloser
	call *originCall
}

func (b *callBody) Close() error {
	err := b.ReadCloser.Close()
	b.call.end()
	return err
}

// errResumeRefused is what a reader gets when the origin does not answer
// the resumption of a body with the range asked for.
var errResumeRefused = errors.New("acache: body cut short by the cache: it outgrew WithMaxBodySize or the in-flight budget while this reader was behind, and the origin did not send the rest as a range")

// resume asks the origin, with ctx, for the call's response body from
// position from on: "Range: bytes=from-" under "If-Range: tag", the
// response's strong entity-tag (RFC 9110 Sections 13.1.5 and 14.2), and
// returns the body of the 206 that sends exactly that, of the same
// representation.
func (o *originCall) resume(ctx context.Context, from int64, tag httpsyntax.ETag) (io.ReadCloser, error) {
	out := o.req.Clone(ctx)
	out.Body, out.GetBody, out.ContentLength = nil, nil, 0 // a GET's
	out.Header.Set("Range", "bytes="+strconv.FormatInt(from, 10)+"-")
	out.Header.Set("If-Range", tag.String())
	resp, err := o.via.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	span, ok := httpsyntax.ContentRange(resp.Header)
	same, strong := httpsyntax.StrongETag(resp.Header)
	if resp.StatusCode != http.StatusPartialContent || !ok || span.Range.First != from ||
		span.Range.Last != span.Size-1 || !strong || !httpsyntax.StrongMatch(same, tag) || resp.Uncompressed {
		resp.Body.Close()
		return nil, errResumeRefused
	}
	return resp.Body, nil
}
