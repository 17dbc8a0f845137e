package main

import "syscall"

// emulatorProcAttr puts an emulator in a process group of its own (stop signals its
// bootstrap too) and has Linux kill it should tglocal end without stopping it (a crash,
// SIGKILL): no emulator outlives the gateway that started it.
func emulatorProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
