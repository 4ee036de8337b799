//! Numpy (multidirectional) broadcasting, shared by every binary op and `where`.

use super::{strided_offsets, R};

/// The broadcast shape of several shapes (numpy rules: align right, dims equal or 1).
pub(crate) fn broadcast_shapes(shapes: &[&[usize]]) -> R<Vec<usize>> {
    let rank = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![1usize; rank];
    for s in shapes {
        let off = rank - s.len();
        for (i, &d) in s.iter().enumerate() {
            let o = &mut out[off + i];
            if *o == 1 {
                *o = d;
            } else if d != 1 && d != *o {
                let all: Vec<String> = shapes.iter().map(|s| format!("{s:?}")).collect();
                return Err(format!(
                    "shapes {} cannot be broadcast together",
                    all.join(", ")
                ));
            }
        }
    }
    Ok(out)
}

/// For each element of `out_shape` (row-major), the flat index of the element of a tensor of
/// shape `in_shape` that broadcasts to it. `None` when no indexing is needed (same shape).
pub(crate) fn broadcast_index(in_shape: &[usize], out_shape: &[usize]) -> R<Option<Vec<usize>>> {
    if in_shape == out_shape {
        return Ok(None);
    }
    if in_shape.len() > out_shape.len() {
        return Err(format!(
            "shape {in_shape:?} cannot be broadcast to {out_shape:?}"
        ));
    }
    let off = out_shape.len() - in_shape.len();
    let in_strides = super::strides_of(in_shape);
    let mut strides = vec![0usize; out_shape.len()];
    for (i, &d) in in_shape.iter().enumerate() {
        if d == out_shape[off + i] {
            strides[off + i] = in_strides[i];
        } else if d != 1 {
            return Err(format!(
                "shape {in_shape:?} cannot be broadcast to {out_shape:?}"
            ));
        }
    }
    Ok(Some(strided_offsets(out_shape, &strides, 0)))
}

/// Applies `f` elementwise over two broadcast operands.
pub(crate) fn zip2<A: Copy, B: Copy, O>(
    a: &[A],
    a_shape: &[usize],
    b: &[B],
    b_shape: &[usize],
    f: impl Fn(A, B) -> O,
) -> R<(Vec<usize>, Vec<O>)> {
    let shape = broadcast_shapes(&[a_shape, b_shape])?;
    let n = super::numel(&shape)?;
    let ia = broadcast_index(a_shape, &shape)?;
    let ib = broadcast_index(b_shape, &shape)?;
    let out = match (&ia, &ib) {
        (None, None) => a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect(),
        (Some(ia), None) => ia.iter().zip(b).map(|(&i, &y)| f(a[i], y)).collect(),
        (None, Some(ib)) => a.iter().zip(ib).map(|(&x, &j)| f(x, b[j])).collect(),
        (Some(ia), Some(ib)) => (0..n).map(|k| f(a[ia[k]], b[ib[k]])).collect(),
    };
    Ok((shape, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(broadcast_shapes(&[&[2, 3], &[3]]).unwrap(), vec![2, 3]);
        assert_eq!(
            broadcast_shapes(&[&[2, 1, 4], &[3, 1]]).unwrap(),
            vec![2, 3, 4]
        );
        assert_eq!(broadcast_shapes(&[&[], &[5]]).unwrap(), vec![5]);
        assert_eq!(broadcast_shapes(&[&[0, 3], &[1, 3]]).unwrap(), vec![0, 3]);
        assert!(broadcast_shapes(&[&[2, 3], &[4]]).is_err());
        assert!(broadcast_shapes(&[&[0], &[2]]).is_err());
    }

    #[test]
    fn index() {
        assert_eq!(
            broadcast_index(&[3], &[2, 3]).unwrap(),
            Some(vec![0, 1, 2, 0, 1, 2])
        );
        assert_eq!(
            broadcast_index(&[2, 1], &[2, 3]).unwrap(),
            Some(vec![0, 0, 0, 1, 1, 1])
        );
        assert_eq!(broadcast_index(&[], &[2]).unwrap(), Some(vec![0, 0]));
        assert_eq!(broadcast_index(&[2], &[2]).unwrap(), None);
        let (s, v) = zip2(&[1, 2, 3], &[3], &[10, 20], &[2, 1], |a, b| a + b).unwrap();
        assert_eq!(s, vec![2, 3]);
        assert_eq!(v, vec![11, 12, 13, 21, 22, 23]);
    }
}
