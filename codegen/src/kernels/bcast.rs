//! Numpy broadcasting of two operands as a loop nest: the result's dims with each
//! operand's element strides (0 along a broadcast dim), adjacent dims merged where both
//! operands stay contiguous, so `[N,C,H,W] x [N,C,1,1]` is two loops and equal shapes one.

use super::Fb;
use cranelift_codegen::ir::{InstBuilder, Value};

/// The loop nest of a broadcast binary op.
#[derive(Clone, Debug, PartialEq)]
pub struct Bcast {
    /// Merged result dims (outermost first; at least one).
    pub dims: Vec<usize>,
    /// Element strides of operand A and B per merged dim.
    pub sa: Vec<usize>,
    /// See `sa`.
    pub sb: Vec<usize>,
}

/// Element strides of `shape` aligned to the trailing dims of `out` (0 where broadcast),
/// or None when `shape` does not broadcast to `out`.
fn strides(shape: &[usize], out: &[usize]) -> Option<Vec<usize>> {
    if shape.len() > out.len() {
        return None;
    }
    let lead = out.len() - shape.len();
    let mut st = vec![0; out.len()];
    let mut acc = 1;
    for d in (0..shape.len()).rev() {
        let (s, o) = (shape[d], out[lead + d]);
        if s == o {
            st[lead + d] = if s == 1 { 0 } else { acc };
        } else if s != 1 {
            return None;
        }
        acc *= s;
    }
    Some(st)
}

impl Bcast {
    /// The nest for operands of shapes `a` and `b` and result `out` (None if they do not
    /// broadcast).
    pub fn new(a: &[usize], b: &[usize], out: &[usize]) -> Option<Bcast> {
        let (sa, sb) = (strides(a, out)?, strides(b, out)?);
        let mut m = Bcast {
            dims: vec![],
            sa: vec![],
            sb: vec![],
        };
        for d in 0..out.len() {
            if out[d] == 1 {
                continue;
            }
            if let (Some(&n), Some(&pa), Some(&pb)) = (m.dims.last(), m.sa.last(), m.sb.last()) {
                if pa == sa[d] * out[d] && pb == sb[d] * out[d] {
                    let k = m.dims.len() - 1;
                    m.dims[k] = n * out[d];
                    m.sa[k] = sa[d];
                    m.sb[k] = sb[d];
                    continue;
                }
            }
            m.dims.push(out[d]);
            m.sa.push(sa[d]);
            m.sb.push(sb[d]);
        }
        if m.dims.is_empty() {
            m = Bcast {
                dims: vec![1],
                sa: vec![0],
                sb: vec![0],
            };
        }
        Some(m)
    }

    /// Number of result elements.
    pub fn len(&self) -> usize {
        self.dims.iter().product()
    }

    /// Always false (a nest has at least one element unless a dim is 0).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Emits the nest; `body(fb, ia, ib, iy)` gets the element indices (i64) of A, B and
    /// the result.
    pub fn emit(&self, fb: &mut Fb, body: &mut dyn FnMut(&mut Fb, Value, Value, Value)) {
        let z = fb.c64(0);
        self.level(fb, 0, (z, z, z), body);
    }

    /// Emits the nest without its innermost dim; `body(fb, ia, ib, iy)` gets the indices
    /// of the first element of each innermost run (`dims.last()` elements, operand strides
    /// `sa.last()` and `sb.last()`, result stride 1).
    pub fn emit_runs(&self, fb: &mut Fb, body: &mut dyn FnMut(&mut Fb, Value, Value, Value)) {
        let z = fb.c64(0);
        if self.dims.len() == 1 {
            body(fb, z, z, z);
        } else {
            self.level_to(fb, 0, self.dims.len() - 1, (z, z, z), body);
        }
    }

    fn level(
        &self,
        fb: &mut Fb,
        d: usize,
        at: (Value, Value, Value),
        body: &mut dyn FnMut(&mut Fb, Value, Value, Value),
    ) {
        self.level_to(fb, d, self.dims.len(), at, body);
    }

    /// Loops over dims `d .. end`, calling `body` inside the innermost of them.
    fn level_to(
        &self,
        fb: &mut Fb,
        d: usize,
        end: usize,
        (ia, ib, iy): (Value, Value, Value),
        body: &mut dyn FnMut(&mut Fb, Value, Value, Value),
    ) {
        let inner: usize = self.dims[d + 1..].iter().product();
        let (sa, sb) = (self.sa[d], self.sb[d]);
        fb.for_n(self.dims[d], |fb, i| {
            let step = |fb: &mut Fb, base: Value, s: usize| {
                let o = fb.b.ins().imul_imm_s(i, s as i64);
                fb.b.ins().iadd(base, o)
            };
            let (ja, jb, jy) = (step(fb, ia, sa), step(fb, ib, sb), step(fb, iy, inner));
            if d + 1 == end {
                body(fb, ja, jb, jy);
            } else {
                self.level_to(fb, d + 1, end, (ja, jb, jy), body);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::Bcast;

    #[test]
    fn merges_contiguous_dims() {
        let b = Bcast::new(&[2, 3, 4, 5], &[2, 3, 4, 5], &[2, 3, 4, 5]).unwrap();
        assert_eq!((b.dims, b.sa, b.sb), (vec![120], vec![1], vec![1]));
        let b = Bcast::new(&[2, 3, 4, 5], &[2, 3, 1, 1], &[2, 3, 4, 5]).unwrap();
        assert_eq!((b.dims, b.sa, b.sb), (vec![6, 20], vec![20, 1], vec![1, 0]));
        let b = Bcast::new(&[1], &[4, 5], &[4, 5]).unwrap();
        assert_eq!((b.dims, b.sa, b.sb), (vec![20], vec![0], vec![1]));
        let b = Bcast::new(&[4, 1], &[5], &[4, 5]).unwrap();
        assert_eq!((b.dims, b.sa, b.sb), (vec![4, 5], vec![1, 0], vec![0, 1]));
        assert!(Bcast::new(&[3], &[4, 5], &[4, 5]).is_none());
    }
}
