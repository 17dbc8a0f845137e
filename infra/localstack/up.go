package localstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Up starts the emulators that are not running yet (in test mode with fresh KMS data),
// all at once, and waits until each answers.
func (s *Stack) Up(ctx context.Context, w io.Writer) error {
	unlock, err := s.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	type result struct {
		pid     int
		started bool
		took    time.Duration
		err     error
	}
	svcs := s.Emulators()
	results := make([]chan result, len(svcs))
	for i, svc := range svcs {
		if _, running := s.Running(svc); !running && svc.Name == "kms" && s.Mode == Test {
			if err := os.RemoveAll(s.KMSData()); err != nil {
				return err
			}
		}
		results[i] = make(chan result, 1)
		go func() {
			start := time.Now()
			pid, started, err := s.Start(ctx, svc)
			results[i] <- result{pid, started, time.Since(start), err}
		}()
	}
	var errs []error
	for i, svc := range svcs {
		r := <-results[i]
		switch {
		case r.err != nil:
			errs = append(errs, r.err)
		case r.started:
			fmt.Fprintf(w, "%-9s %-24s pid=%-8d started (%s)\n", svc.Name, URL(svc.Port), r.pid, r.took.Round(10*time.Millisecond))
		default:
			fmt.Fprintf(w, "%-9s %-24s pid=%-8d already running\n", svc.Name, URL(svc.Port), r.pid)
		}
	}
	return errors.Join(errs...)
}

// Down stops the gateway and the emulators (test mode: and throws the KMS data away).
func (s *Stack) Down(w io.Writer) error {
	unlock, err := s.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	var first error
	for _, svc := range append([]Service{s.Gateway("", false)}, s.Emulators()...) {
		pid, was, err := s.Stop(svc)
		switch {
		case err != nil:
			fmt.Fprintf(w, "%-9s could not stop pid %d: %v\n", svc.Name, pid, err)
			if first == nil {
				first = err
			}
		case was:
			fmt.Fprintf(w, "%-9s stopped (pid %d)\n", svc.Name, pid)
		}
	}
	if s.Mode == Test && first == nil {
		first = os.RemoveAll(s.KMSData())
	}
	return first
}

// Status writes each service of the stack: running or not, its pid and URL.
func (s *Stack) Status(ctx context.Context, w io.Writer) {
	for _, svc := range append(s.Emulators(), s.Gateway("", false)) {
		if svc.Name == "gateway" && s.Mode == Test {
			continue
		}
		pid, ok := s.Running(svc)
		switch {
		case !ok:
			fmt.Fprintf(w, "[%s] %-9s stopped              %s\n", s.Mode, svc.Name, URL(svc.Port))
		case svc.Probe(ctx, URL(svc.Port)) != nil:
			fmt.Fprintf(w, "[%s] %-9s running  pid=%-8d %s (not answering)\n", s.Mode, svc.Name, pid, URL(svc.Port))
		default:
			fmt.Fprintf(w, "[%s] %-9s running  pid=%-8d %s\n", s.Mode, svc.Name, pid, URL(svc.Port))
		}
	}
}
