//go:build amd64 && !purego

#include "textflag.h"

// func affine8(dst, x *float32, a, b float32, relu bool, n int)
//
//	for i := range n { v := a*x[i] + b; if relu { v = max(v, 0) }; dst[i] = v }
//
// with a fused multiply-add; n a multiple of 8.
TEXT ·affine8(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	VBROADCASTSS a+16(FP), Y1
	VBROADCASTSS b+20(FP), Y2
	MOVBQZX      relu+24(FP), BX
	MOVQ         n+32(FP), CX
	SHRQ         $3, CX
	VXORPS       Y3, Y3, Y3
	TESTQ        BX, BX
	JNZ          affineReLULoop

affineLoop:
	VMOVUPS     (SI), Y0
	VFMADD213PS Y2, Y1, Y0 // Y0 = a·x + b
	VMOVUPS     Y0, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	DECQ        CX
	JNZ         affineLoop
	VZEROUPPER
	RET

affineReLULoop:
	VMOVUPS     (SI), Y0
	VFMADD213PS Y2, Y1, Y0
	VCMPPS      $6, Y3, Y0, Y4 // not ≤ 0: above zero, or NaN
	VANDPS      Y0, Y4, Y0
	VMOVUPS     Y0, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	DECQ        CX
	JNZ         affineReLULoop
	VZEROUPPER
	RET

// func affine2x8(dst, x, z *float32, a, c, b float32, n int)
//
//	for i := range n { dst[i] = a*x[i] + c*z[i] + b }
//
// with fused multiply-adds; n a multiple of 8.
TEXT ·affine2x8(SB), NOSPLIT, $0-48
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         z+16(FP), DX
	VBROADCASTSS a+24(FP), Y1
	VBROADCASTSS c+28(FP), Y3
	VBROADCASTSS b+32(FP), Y2
	MOVQ         n+40(FP), CX
	SHRQ         $3, CX

affine2Loop:
	VMOVUPS     (SI), Y0
	VMOVUPS     (DX), Y5
	VFMADD213PS Y2, Y1, Y0 // Y0 = a·x + b
	VFMADD231PS Y5, Y3, Y0 // Y0 += c·z
	VMOVUPS     Y0, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DX
	ADDQ        $32, DI
	DECQ        CX
	JNZ         affine2Loop
	VZEROUPPER
	RET
