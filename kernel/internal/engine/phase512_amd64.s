//go:build amd64 && !purego

#include "textflag.h"
#include "im2col3s2.h"

// The lowering of 3×3, stride-2, padding-1 convolutions on maps 16 or 32
// wide straight from the input, with AVX-512F (see im2col3s2Rows): output
// row y of kernel row ki reads input row 2y−1+ki, whose even columns are
// kernel column 1, its odd ones column 2 and the odd ones one place on,
// after a zero, column 0. Two-table permutations split a row, or two rows
// of 16, in registers.

// evenIdx and oddIdx take the even and the odd elements of two tables of
// 16 floats; shift16 puts a zero (element 0 of the second table) before
// elements 0–14 of the first; shift8 does that for each half of 8.
DATA evenIdx<>+0(SB)/4, $0
DATA evenIdx<>+4(SB)/4, $2
DATA evenIdx<>+8(SB)/4, $4
DATA evenIdx<>+12(SB)/4, $6
DATA evenIdx<>+16(SB)/4, $8
DATA evenIdx<>+20(SB)/4, $10
DATA evenIdx<>+24(SB)/4, $12
DATA evenIdx<>+28(SB)/4, $14
DATA evenIdx<>+32(SB)/4, $16
DATA evenIdx<>+36(SB)/4, $18
DATA evenIdx<>+40(SB)/4, $20
DATA evenIdx<>+44(SB)/4, $22
DATA evenIdx<>+48(SB)/4, $24
DATA evenIdx<>+52(SB)/4, $26
DATA evenIdx<>+56(SB)/4, $28
DATA evenIdx<>+60(SB)/4, $30
GLOBL evenIdx<>(SB), RODATA|NOPTR, $64

DATA shift16<>+0(SB)/4, $16
DATA shift16<>+4(SB)/4, $0
DATA shift16<>+8(SB)/4, $1
DATA shift16<>+12(SB)/4, $2
DATA shift16<>+16(SB)/4, $3
DATA shift16<>+20(SB)/4, $4
DATA shift16<>+24(SB)/4, $5
DATA shift16<>+28(SB)/4, $6
DATA shift16<>+32(SB)/4, $7
DATA shift16<>+36(SB)/4, $8
DATA shift16<>+40(SB)/4, $9
DATA shift16<>+44(SB)/4, $10
DATA shift16<>+48(SB)/4, $11
DATA shift16<>+52(SB)/4, $12
DATA shift16<>+56(SB)/4, $13
DATA shift16<>+60(SB)/4, $14
GLOBL shift16<>(SB), RODATA|NOPTR, $64

DATA shift8<>+0(SB)/4, $16
DATA shift8<>+4(SB)/4, $0
DATA shift8<>+8(SB)/4, $1
DATA shift8<>+12(SB)/4, $2
DATA shift8<>+16(SB)/4, $3
DATA shift8<>+20(SB)/4, $4
DATA shift8<>+24(SB)/4, $5
DATA shift8<>+28(SB)/4, $6
DATA shift8<>+32(SB)/4, $16
DATA shift8<>+36(SB)/4, $8
DATA shift8<>+40(SB)/4, $9
DATA shift8<>+44(SB)/4, $10
DATA shift8<>+48(SB)/4, $11
DATA shift8<>+52(SB)/4, $12
DATA shift8<>+56(SB)/4, $13
DATA shift8<>+60(SB)/4, $14
GLOBL shift8<>(SB), RODATA|NOPTR, $64

DATA oddStep<>+0(SB)/4, $1
GLOBL oddStep<>(SB), RODATA|NOPTR, $4

// SPLIT sets Z2, Z3, Z4 to kernel columns 1, 2 and 0 of the tables Z0, Z1
// (Z28 even, Z29 odd, Z30 the shift, Z31 = 0).
#define SPLIT \
	VMOVAPS   Z0, Z2; \
	VPERMT2PS Z1, Z28, Z2; \
	VMOVAPS   Z0, Z3; \
	VPERMT2PS Z1, Z29, Z3; \
	VMOVAPS   Z3, Z4; \
	VPERMT2PS Z31, Z30, Z4

// func im2col3s2x16(dst *float32, ld int, src *float32, w int, rows int)
//
// For rows output rows of 16: kernel columns 0, 1, 2 of input row 2y−1+ki
// (32 floats at src, then 2 rows of w on) to the rows dst, dst+ld, dst+2ld.
TEXT ·im2col3s2x16(SB), NOSPLIT, $0-40
	LOWERING_ARGS
	VMOVDQU32    evenIdx<>(SB), Z28
	VPBROADCASTD oddStep<>(SB), Z29
	VPADDD       Z28, Z29, Z29
	VMOVDQU32    shift16<>(SB), Z30
	VPXORD       Z31, Z31, Z31

rows16:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	SPLIT
	VMOVUPS Z4, (DI)
	VMOVUPS Z2, (DI)(DX*1)
	VMOVUPS Z3, (DI)(DX*2)
	ADDQ    CX, SI
	ADDQ    $64, DI
	DECQ    BX
	JNZ     rows16
	VZEROUPPER
	RET

// func im2col3s2x8(dst *float32, ld int, src *float32, w int, rows int)
//
// im2col3s2x16 for output rows of 8 (input rows of 16), two rows a step.
TEXT ·im2col3s2x8(SB), NOSPLIT, $0-40
	LOWERING_ARGS
	VMOVDQU32    evenIdx<>(SB), Z28
	VPBROADCASTD oddStep<>(SB), Z29
	VPADDD       Z28, Z29, Z29
	VMOVDQU32    shift8<>(SB), Z30
	VPXORD       Z31, Z31, Z31
	CMPQ         BX, $2
	JLT          rows8Last

rows8:
	VMOVUPS (SI), Z0
	VMOVUPS (SI)(CX*1), Z1
	SPLIT
	VMOVUPS Z4, (DI)
	VMOVUPS Z2, (DI)(DX*1)
	VMOVUPS Z3, (DI)(DX*2)
	LEAQ    (SI)(CX*2), SI
	ADDQ    $64, DI
	SUBQ    $2, BX
	CMPQ    BX, $2
	JGE     rows8

rows8Last:
	TESTQ   BX, BX
	JZ      rows8Done
	// One row left: the lower 8 lanes, stored alone.
	VMOVUPS (SI), Z0
	VMOVAPS Z31, Z1
	SPLIT
	MOVL    $0xFF, AX
	KMOVW   AX, K1
	VMOVUPS Z4, K1, (DI)
	VMOVUPS Z2, K1, (DI)(DX*1)
	VMOVUPS Z3, K1, (DI)(DX*2)

rows8Done:
	VZEROUPPER
	RET
