package bustest

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CPUSample holds the CPU time used so far by this process, the RabbitMQ broker and MariaDB.
// Benchmarks report CPU per event beside wall-clock throughput because the project machine is
// shared: wall time under other helpers' load understates what an idle machine does, while CPU
// per event barely moves with load.
type CPUSample struct{ Self, Broker, DB time.Duration }

// SampleCPU reads this process's user+system time (getrusage) and that of the first processes
// named beam.smp (RabbitMQ) and mariadbd (0 for one that is not running).
func SampleCPU() CPUSample {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	self := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return CPUSample{Self: self, Broker: procCPU("beam.smp"), DB: procCPU("mariadbd")}
}

// Sub returns the CPU time used between the earlier sample o and s.
func (s CPUSample) Sub(o CPUSample) CPUSample {
	return CPUSample{Self: s.Self - o.Self, Broker: s.Broker - o.Broker, DB: s.DB - o.DB}
}

// procCPU returns utime+stime of the first process with that exact name (0 if none).
func procCPU(name string) time.Duration {
	out, err := exec.Command("pgrep", "-x", name).Output()
	if err != nil {
		return 0
	}
	pid := strings.Fields(string(out))
	if len(pid) == 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + pid[0] + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // fields from 3 (state) on
	ut, _ := strconv.ParseInt(f[11], 10, 64)                 // field 14
	st, _ := strconv.ParseInt(f[12], 10, 64)                 // field 15
	return time.Duration(ut+st) * 10 * time.Millisecond      // CLK_TCK = 100
}
