//go:build !linux

package main

import "syscall"

// emulatorProcAttr puts an emulator in a process group of its own, so stopping it stops
// its bootstrap too. (Only Linux can have the kernel end it with tglocal.)
func emulatorProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
