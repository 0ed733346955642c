package acache

// This file holds the store's side of collapsed forwarding across a fleet
// (flights.go holds it within one Cache): over a backend that is a Leaser,
// the request that leads this Cache's flight for a key that nothing is
// stored under takes the key's lease before it goes to the origin, so that
// the leaders of other Caches wait for its response instead of fetching
// their own. The lease lives leaseTTL unless renewed, which its holder does
// while the response arrives; a Commit that stores the response releases
// it, telling the waiters to look the key up again, and a response that is
// not stored releases it when its flight lands, telling them to go to the
// origin themselves.

import (
	"context"
	"crypto/rand"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// leaseTTL is how long a lease lives unless its holder renews it, which it
// does every leaseTTL/3 while its response arrives: the longest the Caches
// waiting for it are kept waiting by a holder that died.
const leaseTTL = 3 * time.Second

// leaseHold is a lease this Cache holds on key under token, for the request
// that leads its flight for key.
type leaseHold struct {
	s          *store
	key, token string
	// stored reports that a Commit stored the response and released the
	// lease with it.
	stored atomic.Bool
	// mu guards renewal and ended.
	mu      sync.Mutex
	renewal *time.Timer
	ended   bool
}

// leaseTokens makes the tokens of this Cache's leases: a random prefix of
// its own, and a count.
type leaseTokens struct {
	once   sync.Once
	prefix string
	n      atomic.Uint64
}

// next returns a token no other lease, of this Cache or another, holds.
func (t *leaseTokens) next() string {
	t.once.Do(func() { t.prefix = rand.Text() })
	return t.prefix + "." + strconv.FormatUint(t.n.Add(1), 36)
}

// takeLease looks key up through the Leaser and, when nothing is stored
// under it but the entry of version stale (0 for none) that the caller
// found stale, takes its lease, within what is left of the budget b. It
// returns the lease taken (renewed from then on until end), or the entry
// stored meanwhile, or neither when another Cache holds the lease. ok is
// false when the backend failed or did not answer: the caller goes to the
// origin as if there were no fleet.
func (s *store) takeLease(ctx context.Context, b *budget, key string, stale uint64) (hold *leaseHold, e *Entry, ok bool) {
	token := s.leases.next()
	reply, err, answered := backendCall(s, ctx, "lease", b, func(ctx context.Context) (leaseReply, error) {
		e, leased, err := s.leaser.GetOrLease(ctx, key, stale, token, leaseTTL)
		return leaseReply{e, leased}, err
	})
	if !answered {
		return nil, nil, false
	}
	if err != nil {
		s.fail(ctx, "lease", key, err)
		return nil, nil, false
	}
	if reply.leased {
		hold = &leaseHold{s: s, key: key, token: token}
		hold.renewEvery(leaseTTL / 3)
		return hold, nil, true
	}
	if reply.e != nil {
		if e, err = s.checked(ctx, b, key, reply.e, nil); err != nil {
			return nil, nil, false
		}
	}
	return nil, e, true
}

// awaitLease waits, at most wait and never after ctx is done, until key's
// lease is released or ends. lookAgain reports that its holder stored the
// response (or left without a word): the caller looks key up again; false,
// with a nil error, that it will not be stored, or that the wait passed:
// the caller goes to the origin. err is ctx's, when it ended first.
func (s *store) awaitLease(ctx context.Context, key string, wait time.Duration) (lookAgain bool, err error) {
	waitCtx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var again bool
	err = s.await(waitCtx, "await lease", func() error {
		var err error
		again, err = s.leaser.AwaitLease(waitCtx, key)
		return err
	})
	switch {
	case ctx.Err() != nil:
		return false, context.Cause(ctx)
	case err != nil:
		if !errors.Is(err, context.DeadlineExceeded) {
			s.fail(ctx, "await lease", key, err)
		}
		return false, nil
	}
	return again, nil
}

// renewEvery renews h every period, until end.
func (h *leaseHold) renewEvery(period time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.renewal = time.AfterFunc(period, func() {
		ctx, done := h.s.callContext(context.Background(), "renew lease")
		held, err := h.s.leaser.RenewLease(ctx, h.key, h.token, leaseTTL)
		done(err)
		if err != nil {
			h.s.fail(ctx, "renew lease", h.key, err)
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		if held && !h.ended {
			h.renewal.Reset(period)
		}
	})
}

// end stops renewing h and, unless a Commit released it with the response
// stored, releases it, telling the waiters to go to the origin themselves.
// It is called once the flight h was taken for has landed.
func (h *leaseHold) end() {
	if h == nil {
		return
	}
	h.mu.Lock()
	h.ended = true
	h.renewal.Stop()
	h.mu.Unlock()
	if h.stored.Load() {
		return
	}
	s := h.s
	_, err, ok := backendCall(s, context.Background(), "release lease", nil, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, s.leaser.ReleaseLease(ctx, h.key, h.token)
	})
	if ok && err != nil {
		s.fail(context.Background(), "release lease", h.key, err)
	}
}
