package acache

import (
	"context"
	"io"
	"net/http"
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
}

// detachedRequest returns req with the context of a new originCall, and
// the call.
func detachedRequest(req *http.Request) (*http.Request, *originCall) {
	callerCtx := req.Context()
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(callerCtx))
	call := &originCall{ctx: ctx, cancel: cancel}
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
