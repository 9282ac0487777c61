#include "textflag.h"

// func readWord(p, off uintptr) uint64
TEXT ·readWord(SB),NOSPLIT,$0-24
	MOVQ p+0(FP), AX
	MOVQ off+8(FP), BX
	MOVQ (AX)(BX*1), AX
	MOVQ AX, ret+16(FP)
	RET
