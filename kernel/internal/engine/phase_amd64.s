//go:build amd64 && !purego

#include "textflag.h"
#include "im2col3s2.h"

// func deinterleave2(planes *float32, pl, pw int, src *float32, w, h int)
//
// Source row iy (w floats) goes to row iy/2 of planes (iy mod 2, 0), its even
// columns, and (iy mod 2, 1), its odd ones; plane (p, q) starts p·2+q planes
// of pl floats in, rows pw floats apart. w is a multiple of 16, h ≥ 1.
TEXT ·deinterleave2(SB), NOSPLIT, $0-48
	MOVQ planes+0(FP), DI
	MOVQ pl+8(FP), R8
	SHLQ $2, R8           // bytes to a plane
	MOVQ pw+16(FP), R9
	SHLQ $2, R9           // bytes to a plane row
	MOVQ src+24(FP), SI
	MOVQ w+32(FP), R10
	SHRQ $4, R10          // blocks of 16 floats to a source row
	MOVQ h+40(FP), R11
	XORQ R12, R12         // iy

deinterleaveRow:
	MOVQ  R12, AX
	ANDQ  $1, AX
	IMULQ R8, AX
	SHLQ  $1, AX          // (iy mod 2)·2 planes
	MOVQ  R12, BX
	SHRQ  $1, BX
	IMULQ R9, BX          // row iy/2
	ADDQ  BX, AX
	LEAQ  (DI)(AX*1), DX  // even columns
	LEAQ  (DX)(R8*1), BX  // odd columns, one plane on
	MOVQ  R10, CX

deinterleaveBlock:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VSHUFPS $0x88, Y1, Y0, Y2 // per lane: x0 x2 x8 x10 | x4 x6 x12 x14
	VSHUFPS $0xDD, Y1, Y0, Y3 // the odd ones
	VPERMPD $0xD8, Y2, Y2     // 64-bit pairs 0 2 1 3: x0 x2 … x14
	VPERMPD $0xD8, Y3, Y3
	VMOVUPS Y2, (DX)
	VMOVUPS Y3, (BX)
	ADDQ    $64, SI
	ADDQ    $32, DX
	ADDQ    $32, BX
	DECQ    CX
	JNZ     deinterleaveBlock
	INCQ    R12
	CMPQ    R12, R11
	JLT     deinterleaveRow
	VZEROUPPER
	RET

// func copyRows(dst *float32, ds int, src *float32, ss int, rows, n int)
//
// Copies rows rows of n floats, ss floats apart at src, to ds floats apart at
// dst. n is a multiple of 8, rows ≥ 1.
TEXT ·copyRows(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ ds+8(FP), R8
	SHLQ $2, R8
	MOVQ src+16(FP), SI
	MOVQ ss+24(FP), R9
	SHLQ $2, R9
	MOVQ rows+32(FP), R10
	MOVQ n+40(FP), R11
	SHRQ $3, R11

copyRow:
	XORQ AX, AX
	MOVQ R11, CX

copyBlock:
	VMOVUPS (SI)(AX*1), Y0
	VMOVUPS Y0, (DI)(AX*1)
	ADDQ    $32, AX
	DECQ    CX
	JNZ     copyBlock
	ADDQ    R8, DI
	ADDQ    R9, SI
	DECQ    R10
	JNZ     copyRow
	VZEROUPPER
	RET

// The lowering of im2col3s2x16 and im2col3s2x8 (phase512_amd64.s) with
// AVX2: each input row split by two shuffles and a 64-bit permutation, as
// deinterleave2 splits it, kernel column 0 (the odd columns one place on,
// after a zero) by a permutation and a blend.
DATA shiftIdx2<>+0(SB)/4, $0
DATA shiftIdx2<>+4(SB)/4, $0
DATA shiftIdx2<>+8(SB)/4, $1
DATA shiftIdx2<>+12(SB)/4, $2
DATA shiftIdx2<>+16(SB)/4, $3
DATA shiftIdx2<>+20(SB)/4, $4
DATA shiftIdx2<>+24(SB)/4, $5
DATA shiftIdx2<>+28(SB)/4, $6
GLOBL shiftIdx2<>(SB), RODATA|NOPTR, $32

DATA lastIdx2<>+0(SB)/4, $7
GLOBL lastIdx2<>(SB), RODATA|NOPTR, $4

// SPLIT8 sets E (even columns) and O (odd) of the 16 floats at p.
#define SPLIT8(p, E, O) \
	VMOVUPS (p), Y0; \
	VMOVUPS 32(p), Y1; \
	VSHUFPS $0x88, Y1, Y0, E; \
	VSHUFPS $0xDD, Y1, Y0, O; \
	VPERMPD $0xD8, E, E; \
	VPERMPD $0xD8, O, O

// func im2col3s2x16avx2(dst *float32, ld int, src *float32, w int, rows int)
TEXT ·im2col3s2x16avx2(SB), NOSPLIT, $0-40
	LOWERING_ARGS
	VMOVUPS      shiftIdx2<>(SB), Y14
	VBROADCASTSS lastIdx2<>(SB), Y13
	VXORPS       Y15, Y15, Y15

avx2Rows16:
	SPLIT8(SI, Y2, Y3)
	LEAQ    64(SI), AX
	SPLIT8(AX, Y4, Y5)
	// Column 0: 0, O0 … O6 | O7 … O14.
	VPERMPS Y3, Y14, Y6
	VBLENDPS $1, Y15, Y6, Y6
	VPERMPS Y5, Y14, Y7
	VPERMPS Y3, Y13, Y8
	VBLENDPS $1, Y8, Y7, Y7
	VMOVUPS Y6, (DI)
	VMOVUPS Y7, 32(DI)
	VMOVUPS Y2, (DI)(DX*1)
	VMOVUPS Y4, 32(DI)(DX*1)
	VMOVUPS Y3, (DI)(DX*2)
	VMOVUPS Y5, 32(DI)(DX*2)
	ADDQ    CX, SI
	ADDQ    $64, DI
	DECQ    BX
	JNZ     avx2Rows16
	VZEROUPPER
	RET

// func im2col3s2x8avx2(dst *float32, ld int, src *float32, w int, rows int)
TEXT ·im2col3s2x8avx2(SB), NOSPLIT, $0-40
	LOWERING_ARGS
	VMOVUPS shiftIdx2<>(SB), Y14
	VXORPS  Y15, Y15, Y15

avx2Rows8:
	SPLIT8(SI, Y2, Y3)
	VPERMPS  Y3, Y14, Y6
	VBLENDPS $1, Y15, Y6, Y6
	VMOVUPS  Y6, (DI)
	VMOVUPS  Y2, (DI)(DX*1)
	VMOVUPS  Y3, (DI)(DX*2)
	ADDQ     CX, SI
	ADDQ     $32, DI
	DECQ     BX
	JNZ      avx2Rows8
	VZEROUPPER
	RET
