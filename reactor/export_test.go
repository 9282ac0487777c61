//go:build linux && (amd64 || arm64)

package reactor

// UsePwait2 switches between epoll_pwait2 and the millisecond fallback, so
// tests cover both; it returns the previous setting.
func UsePwait2(on bool) bool { return pwait2.Swap(on) }
