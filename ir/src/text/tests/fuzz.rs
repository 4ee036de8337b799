//! A mutation fuzz of the parser: it must return, never panic.

use super::all_ops;
use crate::text::*;
use crate::Error;

/// xorshift64*: a tiny deterministic generator for the fuzz test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn text_parser_never_panics_on_mutated_input() {
    let text = print_module(&all_ops());
    let chars: Vec<char> = text.chars().collect();
    let alphabet: Vec<char> = "%@#\"\\<>[](){},:=x?-+.0123456789eNnaq \n/é"
        .chars()
        .collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut parsed_ok = 0;
    for i in 0..3000 {
        let mut c = chars.clone();
        match i % 5 {
            0 => c.truncate(rng.below(c.len() + 1)),
            1 => {
                let at = rng.below(c.len());
                let n = 1 + rng.below(8);
                c.drain(at..(at + n).min(c.len()));
            }
            2 => {
                for _ in 0..1 + rng.below(3) {
                    let at = rng.below(c.len());
                    c[at] = alphabet[rng.below(alphabet.len())];
                }
            }
            3 => {
                let at = rng.below(c.len());
                let n = rng.below(40);
                let piece: Vec<char> = c[at..(at + n).min(c.len())].to_vec();
                let to = rng.below(c.len());
                c.splice(to..to, piece);
            }
            _ => {
                let at = rng.below(c.len() + 1);
                c.insert(at, alphabet[rng.below(alphabet.len())]);
            }
        }
        let src: String = c.into_iter().collect();
        match parse_module(&src) {
            Ok(m) => {
                parsed_ok += 1;
                let again = print_module(&m);
                let m2 =
                    parse_module(&again).unwrap_or_else(|e| panic!("reprint failed: {e}\n{again}"));
                assert_eq!(print_module(&m2), again);
            }
            Err(Error::Parse { line, col, .. }) => assert!(line >= 1 && col >= 1),
            Err(e) => panic!("non-parse error {e}"),
        }
    }
    assert!(
        parsed_ok > 0,
        "no mutation parsed; the fuzz is too destructive to be useful"
    );
}
