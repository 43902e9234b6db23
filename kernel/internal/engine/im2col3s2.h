// The arguments of the direct stride-2 lowering's routines (phase_amd64.s,
// phase512_amd64.s), func(dst *float32, ld int, src *float32, w int, rows
// int): DI = dst, DX = ld in bytes, SI = src, CX = two input rows in bytes,
// BX = rows.
#define LOWERING_ARGS \
	MOVQ dst+0(FP), DI; \
	MOVQ ld+8(FP), DX; \
	SHLQ $2, DX; \
	MOVQ src+16(FP), SI; \
	MOVQ w+24(FP), CX; \
	SHLQ $3, CX; \
	MOVQ rows+32(FP), BX
