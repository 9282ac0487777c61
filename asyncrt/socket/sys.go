package socket

import (
	"encoding/binary"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The sockets here are non-blocking, so their system calls never wait: they
// are made raw, skipping the scheduler's bookkeeping for calls that may
// block, and without the allocations of the generic wrappers. Pointers are
// converted to uintptr only inside the call expression, as package unsafe
// requires, so that the memory they point to stays alive and in place for
// the call.

func rawRead(fd int, p []byte) (int, unix.Errno) {
	n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	return int(n), e
}

func rawAccept(fd int, sa *unix.RawSockaddrAny) (int, unix.Errno) {
	l := uint32(unix.SizeofSockaddrAny)
	n, _, e := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(fd), uintptr(unsafe.Pointer(sa)),
		uintptr(unsafe.Pointer(&l)), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	return int(n), e
}

func rawRecvfrom(fd int, p []byte, sa *unix.RawSockaddrAny) (int, unix.Errno) {
	if sa == nil {
		n, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd),
			uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)), 0, 0, 0)
		return int(n), e
	}
	l := uint32(unix.SizeofSockaddrAny)
	n, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd),
		uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)), 0,
		uintptr(unsafe.Pointer(sa)), uintptr(unsafe.Pointer(&l)))
	return int(n), e
}

func rawSendto(fd int, p []byte, sa *unix.RawSockaddrAny, salen uint32) (int, unix.Errno) {
	if salen == 0 {
		n, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd),
			uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)), unix.MSG_NOSIGNAL, 0, 0)
		return int(n), e
	}
	n, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd),
		uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)), unix.MSG_NOSIGNAL,
		uintptr(unsafe.Pointer(sa)), uintptr(salen))
	return int(n), e
}

func rawBind(fd int, sa *unix.RawSockaddrAny, salen uint32) unix.Errno {
	_, _, e := unix.RawSyscall(unix.SYS_BIND, uintptr(fd), uintptr(unsafe.Pointer(sa)), uintptr(salen))
	return e
}

func rawConnect(fd int, sa *unix.RawSockaddrAny, salen uint32) unix.Errno {
	_, _, e := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(sa)), uintptr(salen))
	return e
}

// putSockaddr writes ap into sa and returns its length. An IPv4 address is
// written as IPv4-mapped IPv6 when the socket is IPv6 (family6).
func putSockaddr(sa *unix.RawSockaddrAny, ap netip.AddrPort, family6 bool) uint32 {
	addr := ap.Addr()
	if !family6 && addr.Is4() {
		p := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		*p = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: addr.As4()}
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&p.Port))[:], ap.Port())
		return unix.SizeofSockaddrInet4
	}
	p := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
	*p = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: addr.As16()}
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&p.Port))[:], ap.Port())
	if z := addr.Zone(); z != "" {
		if ifi, err := interfaceIndex(z); err == nil {
			p.Scope_id = uint32(ifi)
		}
	}
	return unix.SizeofSockaddrInet6
}

// getSockaddr reads an address written by the kernel. IPv4-mapped IPv6
// addresses come back as IPv4.
func getSockaddr(sa *unix.RawSockaddrAny) netip.AddrPort {
	switch sa.Addr.Family {
	case unix.AF_INET:
		p := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&p.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(p.Addr), port)
	case unix.AF_INET6:
		p := (*unix.RawSockaddrInet6)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&p.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom16(p.Addr).Unmap(), port)
	}
	return netip.AddrPort{}
}

// sockName returns the local or (peer) remote address of fd.
func sockName(fd int, peer bool) netip.AddrPort {
	var sa unix.RawSockaddrAny
	l := uint32(unix.SizeofSockaddrAny)
	call := uintptr(unix.SYS_GETSOCKNAME)
	if peer {
		call = unix.SYS_GETPEERNAME
	}
	if _, _, e := unix.RawSyscall(call, uintptr(fd), uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&l))); e != 0 {
		return netip.AddrPort{}
	}
	return getSockaddr(&sa)
}
