#include "textflag.h"

// func readWord(p, off uintptr) uint64
TEXT ·readWord(SB),NOSPLIT,$0-24
	MOVD p+0(FP), R0
	MOVD off+8(FP), R1
	MOVD (R0)(R1), R0
	MOVD R0, ret+16(FP)
	RET
