package localstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Timeouts of the supervisor.
var (
	ReadyTimeout = 60 * time.Second // until a started service answers its probe
	StopTimeout  = 10 * time.Second // from SIGTERM to SIGKILL of a service's process group
)

func (s *Stack) pidfile(name string) string { return filepath.Join(s.State, "run", name+".pid") }

// LogFile is where a service's output goes.
func (s *Stack) LogFile(name string) string { return filepath.Join(s.State, "logs", name+".log") }

// Lock serialises the supervisors of one state folder (make run and make stop at once);
// call the returned function to unlock.
func (s *Stack) Lock() (func(), error) {
	dir := filepath.Join(s.State, "run")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// Running returns the pid of svc when its pidfile names a live process that is svc on
// its port; a stale pidfile (the process exited, or its pid now belongs to another
// process) is not running.
func (s *Stack) Running(svc Service) (int, bool) {
	b, err := os.ReadFile(s.pidfile(svc.Name))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	if !alive(pid) {
		return 0, false
	}
	args := cmdline(pid)
	port := strconv.Itoa(svc.Port)
	var marker, onPort bool
	for _, a := range args {
		marker = marker || strings.Contains(a, svc.Marker)
		onPort = onPort || a == port || strings.HasSuffix(a, ":"+port)
	}
	return pid, marker && onPort
}

// RunningOther reports a live process of svc (by its pidfile) on another port.
func (s *Stack) runningElsewhere(svc Service) (int, bool) {
	b, err := os.ReadFile(s.pidfile(svc.Name))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 || !alive(pid) {
		return 0, false
	}
	for _, a := range cmdline(pid) {
		if strings.Contains(a, svc.Marker) {
			return pid, true
		}
	}
	return 0, false
}

// Start starts svc unless it runs already, and waits until it answers its probe. It
// returns the pid and whether it started it now. On failure the error ends with the
// last lines of the service's log.
func (s *Stack) Start(ctx context.Context, svc Service) (int, bool, error) {
	url := URL(svc.Port)
	if pid, ok := s.Running(svc); ok {
		if err := waitReady(ctx, svc, url, nil); err != nil {
			return pid, false, fmt.Errorf("%s (pid %d) runs but does not answer on %s: %w%s", svc.Name, pid, url, err, s.tail(svc.Name))
		}
		return pid, false, nil
	}
	if pid, ok := s.runningElsewhere(svc); ok {
		return 0, false, fmt.Errorf("%s runs already (pid %d) on another port than %d: stop it first (make stop, with the same ports as when it started)", svc.Name, pid, svc.Port)
	}
	if err := installed(svc); err != nil {
		return 0, false, err
	}
	_ = os.Remove(s.pidfile(svc.Name))
	if c, err := net.DialTimeout("tcp", net.JoinHostPort(Host, strconv.Itoa(svc.Port)), time.Second); err == nil {
		c.Close()
		return 0, false, fmt.Errorf("%s: port %d is in use by a process this stack did not start (stop it, or choose another port with %s)", svc.Name, svc.Port, portEnv(svc.Name))
	}
	for _, d := range append([]string{filepath.Dir(s.pidfile(svc.Name)), filepath.Dir(s.LogFile(svc.Name)), svc.Dir}, svc.Dirs...) {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return 0, false, err
		}
	}
	log, err := os.OpenFile(s.LogFile(svc.Name), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, false, err
	}
	defer log.Close()
	fmt.Fprintf(log, "== %s tglocal stack (%s): %s\n", time.Now().Format(time.RFC3339), s.Mode, strings.Join(svc.Argv, " "))
	cmd := exec.Command(svc.Argv[0], svc.Argv[1:]...)
	cmd.Env = append(os.Environ(), svc.Env...)
	cmd.Dir = svc.Dir
	cmd.Stdout, cmd.Stderr = log, log // the file itself: no pipe that ties the service to this process
	// Its own session and process group: it outlives this process, and stop kills the
	// whole group (java's, node's and the gateway's children with it).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, false, fmt.Errorf("start %s: %w", svc.Name, err)
	}
	pid := cmd.Process.Pid
	if err := os.WriteFile(s.pidfile(svc.Name), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		_ = killGroup(pid)
		return 0, false, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if err := waitReady(ctx, svc, url, exited); err != nil {
		_ = killGroup(pid)
		_ = os.Remove(s.pidfile(svc.Name))
		return 0, false, fmt.Errorf("%s (pid %d) %v%s", svc.Name, pid, err, s.tail(svc.Name))
	}
	return pid, true, nil
}

func waitReady(ctx context.Context, svc Service, url string, exited <-chan error) error {
	ctx, cancel := context.WithTimeout(ctx, ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if last = svc.Probe(ctx, url); last == nil {
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("exited (%v) before answering on %s", err, url)
		case <-ctx.Done():
			return fmt.Errorf("did not answer on %s within %s (%v)", url, ReadyTimeout, last)
		case <-tick.C:
		}
	}
}

// Stop stops svc's process group when its pidfile names it, and removes the pidfile.
// It reports whether something was running.
func (s *Stack) Stop(svc Service) (int, bool, error) {
	pid, ok := s.runningElsewhere(svc)
	if ok {
		if err := killGroup(pid); err != nil {
			return pid, true, fmt.Errorf("%s: %w", svc.Name, err)
		}
	}
	return pid, ok, removeMissing(s.pidfile(svc.Name))
}

func removeMissing(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// killGroup sends SIGTERM to process group pid, then SIGKILL after StopTimeout, and
// waits until no process of it is left.
func killGroup(pid int) error {
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	if waitGroupGone(pid, StopTimeout) {
		return nil
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	if waitGroupGone(pid, 5*time.Second) {
		return nil
	}
	return fmt.Errorf("process group %d did not exit", pid)
}

func waitGroupGone(pgid int, d time.Duration) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if !groupAlive(pgid) {
			return true
		}
	}
	return !groupAlive(pgid)
}

// stat returns a process's state letter and process group from /proc/<pid>/stat.
func stat(pid int) (state byte, pgrp int, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, false
	}
	// pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 3 {
		return 0, 0, false
	}
	pgrp, err = strconv.Atoi(f[2])
	return f[0][0], pgrp, err == nil
}

// alive: the process exists and is no zombie (a zombie has exited and awaits reaping).
// A multithreaded process (java) whose main thread exited shows as a zombie while its
// other threads still run, holding its sockets: it is alive until they are gone.
func alive(pid int) bool {
	st, _, ok := stat(pid)
	if !ok {
		return false
	}
	if st != 'Z' && st != 'X' {
		return true
	}
	tasks, _ := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "task"))
	for _, task := range tasks {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "task", task.Name(), "stat"))
		if i := bytes.LastIndexByte(b, ')'); err == nil && i >= 0 && len(b) > i+2 && b[i+2] != 'Z' && b[i+2] != 'X' {
			return true
		}
	}
	return false
}

func groupAlive(pgid int) bool {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, g, ok := stat(pid); ok && g == pgid && alive(pid) {
			return true
		}
	}
	return false
}

func cmdline(pid int) []string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
}

// tail is the last lines of a service's log, for an error message.
func (s *Stack) tail(name string) string {
	b, err := os.ReadFile(s.LogFile(name))
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return fmt.Sprintf("\n---- last lines of %s ----\n%s\n----", s.LogFile(name), strings.Join(lines, "\n"))
}

func portEnv(name string) string {
	switch name {
	case "dynamodb":
		return DynamoDBPort.Env
	case "ses":
		return SESPort.Env
	case "kms":
		return KMSPort.Env
	}
	return APIPort.Env
}
