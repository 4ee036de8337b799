//! qcc driver.
