//! Writing to stdout without panicking when the reader goes away (`qcc ... | head`).

use std::io::Write;

/// Writes `s` to stdout; a closed pipe ends the output quietly instead of panicking.
pub fn text(s: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("qcc: error: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

/// `println!` through [`text`].
macro_rules! line {
    ($($arg:tt)*) => {
        $crate::out::text(&format!("{}\n", format!($($arg)*)))
    };
}
pub(crate) use line;
