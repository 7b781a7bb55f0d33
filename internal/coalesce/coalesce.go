// Package coalesce runs one call for many concurrent callers that each
// need a result produced after they asked, such as a leadership check or
// a read index for a linearizable read. Unlike a single-flight group, a
// caller never shares a call that was already under way when it arrived,
// because that call's result may predate the caller's request.
package coalesce

import (
	"context"
	"sync"
)

type result[T any] struct {
	value T
	err   error
}

// Group coalesces calls by key. The zero value is ready to use.
type Group[T any] struct {
	waiting map[string][]chan result[T]
	running map[string]bool
	mu      sync.Mutex
}

// Do returns the result of a call to fn that started after Do was called.
// Callers with the same key that arrive while a call runs share the next
// call, so at most one call per key runs at a time. A caller whose ctx
// ends stops waiting and gets ctx's error; the call goes on for the others.
func (g *Group[T]) Do(ctx context.Context, key string, fn func() (T, error)) (T, error) {
	ch := make(chan result[T], 1)
	g.mu.Lock()
	if g.waiting == nil {
		g.waiting, g.running = make(map[string][]chan result[T]), make(map[string]bool)
	}
	g.waiting[key] = append(g.waiting[key], ch)
	if !g.running[key] {
		g.running[key] = true
		go g.run(key, fn)
	}
	g.mu.Unlock()
	select {
	case r := <-ch:
		return r.value, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// run makes calls for key while callers are waiting. Each call's result
// goes to everyone who arrived before it started.
func (g *Group[T]) run(key string, fn func() (T, error)) {
	for {
		g.mu.Lock()
		batch := g.waiting[key]
		delete(g.waiting, key)
		if len(batch) == 0 {
			delete(g.running, key)
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()

		value, err := fn()
		for _, ch := range batch {
			ch <- result[T]{value: value, err: err}
		}
	}
}
