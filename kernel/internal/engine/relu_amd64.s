//go:build amd64 && !purego

#include "textflag.h"

// func rectify8(dst, src *float32, n int)
TEXT ·rectify8(SB), NOSPLIT, $0-24
	MOVQ   dst+0(FP), DI
	MOVQ   src+8(FP), SI
	MOVQ   n+16(FP), CX
	SHRQ   $3, CX
	VXORPS Y1, Y1, Y1

rectifyLoop:
	VMOVUPS (SI), Y0
	VCMPPS  $6, Y1, Y0, Y2 // Y0 not ≤ 0: above zero, or NaN
	VANDPS  Y0, Y2, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     rectifyLoop
	VZEROUPPER
	RET

// func mask8(dx, dy, y *float32, self bool, n int)
TEXT ·mask8(SB), NOSPLIT, $0-40
	MOVQ    dx+0(FP), DI
	MOVQ    dy+8(FP), SI
	MOVQ    y+16(FP), DX
	MOVBQZX self+24(FP), BX
	MOVQ    n+32(FP), CX
	SHRQ    $3, CX
	VPXOR   Y1, Y1, Y1
	TESTQ   DX, DX
	JZ      selfOnly

maskLoop:
	VMOVUPS  (SI), Y0
	VMOVUPS  (DX), Y3
	VPCMPGTD Y1, Y3, Y2 // int32(y) > 0
	TESTQ    BX, BX
	JZ       maskApply
	VPCMPGTD Y1, Y0, Y4 // int32(dy) > 0
	VPAND    Y4, Y2, Y2

maskApply:
	VPAND   Y0, Y2, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     maskLoop
	VZEROUPPER
	RET

selfOnly:
	VMOVUPS  (SI), Y0
	VPCMPGTD Y1, Y0, Y2
	VPAND    Y0, Y2, Y0
	VMOVUPS  Y0, (DI)
	ADDQ     $32, SI
	ADDQ     $32, DI
	DECQ     CX
	JNZ      selfOnly
	VZEROUPPER
	RET
