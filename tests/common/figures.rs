//! Helpers of the figure tests: columns and settings of a figure's CSV, and the files an example
//! must write.

#![allow(dead_code)]

use std::path::Path;

/// The index of column `name` (panics with its name when absent).
pub fn column(cols: &[String], name: &str) -> usize {
    cols.iter()
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("column {name}"))
}

/// The value of the CSV header setting `key` (panics with its name when absent).
pub fn setting<'a>(settings: &'a [(String, String)], key: &str) -> &'a str {
    &settings
        .iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("setting {key}"))
        .1
}

/// `stem`.png, .svg and .csv exist in `dir`.
pub fn assert_written(dir: &Path, stem: &str) {
    for ext in ["png", "svg", "csv"] {
        assert!(dir.join(format!("{stem}.{ext}")).exists(), "{stem}.{ext}");
    }
}
