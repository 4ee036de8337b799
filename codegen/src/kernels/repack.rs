//! Repacking of one NCHW u8/i8 image into 4-channel-interleaved u8 rows for the VNNI
//! convolution: `[ceil(C/4)][Hp][Wp][4]` bytes, channel `c` at byte `c % 4` of group `c / 4`,
//! i8 inputs moved to the u8 domain (sign bit flipped, i.e. +128), the image placed at row
//! `pt`, column `pl`, and everything around it (padding and right margin) set to the input
//! zero point (a constant, or a run-time scalar for ConvInteger after DynamicQuantizeLinear).
//! Channels past `C` in the last group are set to the zero point too (their weights are 0).
//!
//! 16 pixels of 4 channels are interleaved with two rounds of byte / 16-bit unpacks
//! (punpcklbw / punpcklwd); only the border is filled, row by row.

use super::{flags, Addr, Fb};
use cranelift_codegen::ir::{types, ConstantData, InstBuilder, Value};
use qcc_ir::DType;

/// Geometry of one repack.
#[derive(Clone, Debug)]
pub struct Repack {
    /// Input channels.
    pub c: usize,
    /// Input rows and columns.
    pub ih: usize,
    /// Input columns.
    pub iw: usize,
    /// Repacked rows and columns (border included).
    pub hp: usize,
    /// Repacked columns.
    pub wp: usize,
    /// Rows above and columns left of the image.
    pub pt: usize,
    /// Columns left of the image.
    pub pl: usize,
    /// Input element type (u8 or i8).
    pub x_dt: DType,
    /// The border byte: the input zero point in the u8 domain.
    pub zx_u8: ZeroByte,
}

/// The input zero point of a repack.
#[derive(Clone, Copy, Debug)]
pub enum ZeroByte {
    /// Known at compile time, in the u8 domain.
    Const(u8),
    /// A run-time scalar of the input's type at this address.
    Run(Addr),
}

impl Repack {
    /// Channel groups of 4.
    pub fn groups(&self) -> usize {
        self.c.div_ceil(4)
    }

    /// Scratch bytes needed (a multiple of 16: border stores are whole vectors).
    pub fn bytes(&self) -> usize {
        (self.groups() * self.hp * self.wp * 4).div_ceil(16) * 16 + 16
    }

    /// The zero point in the u8 domain as an i32 in `[0, 255]`.
    pub fn zero(&self, fb: &mut Fb) -> Value {
        match self.zx_u8 {
            ZeroByte::Const(z) => fb.c32(z as i32),
            ZeroByte::Run(a) => {
                let p = fb.base(a);
                let v = fb.load_int(self.x_dt, p, 0);
                let v = self.to_u8(fb, v);
                fb.b.ins().band_imm_u(v, 0xff)
            }
        }
    }

    /// Repacks the image at `img` into `dst`.
    pub fn emit(&self, fb: &mut Fb, img: Value, dst: Value) {
        let z = self.zero(fb);
        self.fill_border(fb, dst, z);
        let full = self.c / 4;
        fb.for_n(full, |fb, grp| self.group(fb, img, dst, grp, 4, z));
        if !self.c.is_multiple_of(4) {
            let grp = fb.c64(full as i64);
            self.group(fb, img, dst, grp, self.c % 4, z);
        }
    }

    /// Sets every byte outside the image to the zero point.
    fn fill_border(&self, fb: &mut Fb, dst: Value, zero: Value) {
        let (hp, wp, ih, iw, pt, pl) = (self.hp, self.wp, self.ih, self.iw, self.pt, self.pl);
        let z = fb.b.ins().ireduce(types::I8, zero);
        let zv = fb.b.ins().splat(types::I8X16, z);
        let z32 = fb.b.ins().imul_imm_s(zero, 0x0101_0101);
        let row_bytes = wp * 4;
        fb.for_n(self.groups(), |fb, grp| {
            let gb = fb.index(dst, grp, hp * row_bytes);
            // Whole rows above and below (vector stores may spill into the next rows,
            // which are written afterwards or are border too; the buffer has 16 spare bytes).
            for (first, rows) in [(0, pt), (pt + ih, hp - pt - ih)] {
                let start = fb.b.ins().iadd_imm_s(gb, (first * row_bytes) as i64);
                fb.for_n((rows * row_bytes).div_ceil(16), |fb, i| {
                    let a = fb.index(start, i, 16);
                    fb.b.ins().store(flags(), zv, a, 0);
                });
            }
            // Left and right columns of the image rows.
            let right = wp - pl - iw;
            fb.for_n(ih, |fb, r| {
                let rr = fb.b.ins().iadd_imm_s(r, pt as i64);
                let ra = fb.index(gb, rr, row_bytes);
                for col in (0..pl).chain(pl + iw..pl + iw + right) {
                    fb.b.ins().store(flags(), z32, ra, (col * 4) as i32);
                }
            });
        });
    }

    /// Copies channel group `grp` (`chans` real channels) row by row.
    fn group(&self, fb: &mut Fb, img: Value, dst: Value, grp: Value, chans: usize, zero: Value) {
        let plane = self.ih * self.iw;
        let row_bytes = self.wp * 4;
        let x0 = fb.index(img, grp, 4 * plane);
        let g0 = fb.index(dst, grp, self.hp * row_bytes);
        fb.for_n(self.ih, |fb, r| {
            let xr = fb.index(x0, r, self.iw);
            let rr = fb.b.ins().iadd_imm_s(r, self.pt as i64);
            let dr = fb.index(g0, rr, row_bytes);
            let dr = fb.b.ins().iadd_imm_s(dr, (self.pl * 4) as i64);
            fb.for_n(self.iw / 16, |fb, k| {
                let xa = fb.index(xr, k, 16);
                let rows: Vec<Value> = (0..4)
                    .map(|ch| self.load16(fb, xa, ch, chans, plane, zero))
                    .collect();
                let (ab_lo, ab_hi) = zip(fb, rows[0], rows[1], 1);
                let (cd_lo, cd_hi) = zip(fb, rows[2], rows[3], 1);
                let (p0, p1) = zip(fb, ab_lo, cd_lo, 2);
                let (p2, p3) = zip(fb, ab_hi, cd_hi, 2);
                let da = fb.index(dr, k, 64);
                for (i, p) in [p0, p1, p2, p3].into_iter().enumerate() {
                    fb.b.ins().store(flags(), p, da, (16 * i) as i32);
                }
            });
            for col in self.iw / 16 * 16..self.iw {
                for ch in 0..4 {
                    let v = if ch < chans {
                        let v =
                            fb.b.ins()
                                .uload8(types::I32, flags(), xr, (ch * plane + col) as i32);
                        self.to_u8(fb, v)
                    } else {
                        zero
                    };
                    fb.b.ins().istore8(flags(), v, dr, (col * 4 + ch) as i32);
                }
            }
        });
    }

    /// 16 bytes of channel `ch` at `xa` in the u8 domain, or the zero point past `chans`.
    fn load16(
        &self,
        fb: &mut Fb,
        xa: Value,
        ch: usize,
        chans: usize,
        plane: usize,
        zero: Value,
    ) -> Value {
        if ch >= chans {
            let z = fb.b.ins().ireduce(types::I8, zero);
            return fb.b.ins().splat(types::I8X16, z);
        }
        let v =
            fb.b.ins()
                .load(types::I8X16, flags(), xa, (ch * plane) as i32);
        if self.x_dt == DType::I8 {
            let s = fb.b.ins().iconst(types::I8, 0x80u8 as i8 as i64);
            let s = fb.b.ins().splat(types::I8X16, s);
            fb.b.ins().bxor(v, s)
        } else {
            v
        }
    }

    /// A scalar stored value in the u8 domain.
    fn to_u8(&self, fb: &mut Fb, v: Value) -> Value {
        if self.x_dt == DType::I8 {
            fb.b.ins().bxor_imm_u(v, 0x80)
        } else {
            v
        }
    }
}

/// Interleaves `width`-byte elements of `a` and `b`: (low halves, high halves), i.e.
/// punpckl / punpckh with byte (`width` 1) or 16-bit (`width` 2) elements.
fn zip(fb: &mut Fb, a: Value, b: Value, width: usize) -> (Value, Value) {
    let mut out = [a; 2];
    for (h, o) in out.iter_mut().enumerate() {
        let per = 8 / width;
        let mask: Vec<u8> = (0..per)
            .flat_map(|j| {
                let e = (h * per + j) * width;
                (0..width)
                    .map(move |k| (e + k) as u8)
                    .chain((0..width).map(move |k| (16 + e + k) as u8))
            })
            .collect();
        let imm = fb.b.func.dfg.immediates.push(ConstantData::from(mask));
        *o = fb.b.ins().shuffle(a, b, imm);
    }
    (out[0], out[1])
}
