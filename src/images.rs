//! Image-classification data sets in their standard on-disk formats, read from a path the user
//! gives (nothing is downloaded): MNIST idx files (optionally gzipped), CIFAR-10/100 binary
//! batches, and the 8×8 handwritten digits that ship inside the scikit-learn wheel
//! (`sklearn/datasets/data/digits.csv.gz`). Every reader validates sizes, magic numbers and label
//! ranges into a typed [`Error`] naming the file and field. The writers produce the same formats so
//! that tests and examples can generate tiny files. Pixels are stored as `f32` in [0, 1], image
//! after image in channel-height-width order; this module needs no libtorch.

use std::io::Read;
use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;

use crate::error::{Error, Result};

/// The data-set formats [`ImageSet::load`] understands.
pub const DATASET_KINDS: [&str; 4] = ["mnist", "cifar10", "cifar100", "digits"];

/// A labelled set of images of one shape.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageSet {
    /// Channels per image.
    pub channels: usize,
    /// Image height in pixels.
    pub height: usize,
    /// Image width in pixels.
    pub width: usize,
    /// Number of classes (labels lie in 0..classes).
    pub classes: usize,
    /// Pixels in [0, 1], image after image, each in channel-height-width order.
    pub pixels: Vec<f32>,
    /// One label per image.
    pub labels: Vec<u8>,
}

/// A training set and a test set of the same shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    /// Training images.
    pub train: ImageSet,
    /// Test images.
    pub test: ImageSet,
}

fn bad(file: &Path, field: &str, message: impl Into<String>) -> Error {
    Error::Invalid {
        file: Some(file.to_path_buf()),
        field: field.into(),
        message: message.into(),
    }
}

/// Read a whole file, gunzipping it when its name ends in `.gz`.
fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|source| Error::Read {
        file: path.to_path_buf(),
        source,
    })?;
    if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| bad(path, "gzip", format!("not a valid gzip stream: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// `dir/name` or, when only that exists, `dir/name.gz`.
fn with_gz(dir: &Path, name: &str) -> PathBuf {
    let plain = dir.join(name);
    let gz = dir.join(format!("{name}.gz"));
    if !plain.exists() && gz.exists() {
        gz
    } else {
        plain
    }
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl ImageSet {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the set holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Values per image (channels × height × width).
    pub fn image_size(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[f32] {
        let s = self.image_size();
        &self.pixels[i * s..(i + 1) * s]
    }

    /// The images at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> ImageSet {
        let mut pixels = Vec::with_capacity(indices.len() * self.image_size());
        for &i in indices {
            pixels.extend_from_slice(self.image(i));
        }
        ImageSet {
            pixels,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            ..self.shape_only()
        }
    }

    /// The first `n` images (all when `n` ≥ len).
    pub fn take(&self, n: usize) -> ImageSet {
        let n = n.min(self.len());
        self.select(&(0..n).collect::<Vec<_>>())
    }

    fn shape_only(&self) -> ImageSet {
        ImageSet {
            channels: self.channels,
            height: self.height,
            width: self.width,
            classes: self.classes,
            pixels: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// Per-channel mean and standard deviation over all pixels of the set.
    pub fn channel_stats(&self) -> Vec<(f64, f64)> {
        let hw = self.height * self.width;
        (0..self.channels)
            .map(|c| {
                let (mut s, mut s2, mut k) = (0.0f64, 0.0f64, 0usize);
                for i in 0..self.len() {
                    for &p in &self.image(i)[c * hw..(c + 1) * hw] {
                        s += p as f64;
                        s2 += (p as f64) * (p as f64);
                        k += 1;
                    }
                }
                let mean = s / k.max(1) as f64;
                let var = (s2 / k.max(1) as f64 - mean * mean).max(0.0);
                (mean, var.sqrt())
            })
            .collect()
    }

    /// Split into (train, test) by a permutation drawn from stream (seed, "images.split"); the
    /// test set gets round(test_fraction · len) images.
    pub fn split(&self, test_fraction: f64, seed: u64) -> Result<Split> {
        if !(test_fraction > 0.0 && test_fraction < 1.0) {
            return Err(Error::invalid(
                "test_fraction",
                format!("must lie in (0, 1), got {test_fraction}"),
            ));
        }
        let mut order: Vec<usize> = (0..self.len()).collect();
        let mut rng = crate::rng::stream(seed, crate::rng::label_index("images.split"));
        order.shuffle(&mut rng);
        let n_test = ((self.len() as f64) * test_fraction).round() as usize;
        let (test, train) = order.split_at(n_test);
        Ok(Split {
            train: self.select(train),
            test: self.select(test),
        })
    }

    /// Concatenate sets of the same shape.
    fn concat(parts: Vec<ImageSet>) -> ImageSet {
        let mut it = parts.into_iter();
        let mut out = it.next().expect("at least one part");
        for p in it {
            out.pixels.extend(p.pixels);
            out.labels.extend(p.labels);
        }
        out
    }

    fn check_labels(path: &Path, labels: &[u8], classes: usize) -> Result<()> {
        if let Some((i, &l)) = labels
            .iter()
            .enumerate()
            .find(|&(_, &l)| l as usize >= classes)
        {
            return Err(bad(
                path,
                "label",
                format!("label {l} of example {i} is outside 0..{classes}"),
            ));
        }
        Ok(())
    }

    /// Read an MNIST pair of idx files (`…-images-idx3-ubyte`, `…-labels-idx1-ubyte`, each
    /// optionally `.gz`).
    pub fn read_mnist(images: &Path, labels: &Path) -> Result<ImageSet> {
        let im = read_bytes(images)?;
        if im.len() < 16 || be_u32(&im, 0) != 0x0803 {
            return Err(bad(
                images,
                "magic",
                "not an idx3-ubyte image file (magic 0x00000803)",
            ));
        }
        let (n, h, w) = (
            be_u32(&im, 4) as usize,
            be_u32(&im, 8) as usize,
            be_u32(&im, 12) as usize,
        );
        if h == 0 || w == 0 || im.len() != 16 + n * h * w {
            return Err(bad(
                images,
                "size",
                format!(
                    "header says {n} images of {h}×{w} ({} bytes) but the file holds {} bytes",
                    16 + n * h * w,
                    im.len()
                ),
            ));
        }
        let lb = read_bytes(labels)?;
        if lb.len() < 8 || be_u32(&lb, 0) != 0x0801 {
            return Err(bad(
                labels,
                "magic",
                "not an idx1-ubyte label file (magic 0x00000801)",
            ));
        }
        let nl = be_u32(&lb, 4) as usize;
        if nl != n || lb.len() != 8 + n {
            return Err(bad(
                labels,
                "size",
                format!("{nl} labels in a file of {} bytes for {n} images", lb.len()),
            ));
        }
        let labels_v = lb[8..].to_vec();
        Self::check_labels(labels, &labels_v, 10)?;
        Ok(ImageSet {
            channels: 1,
            height: h,
            width: w,
            classes: 10,
            pixels: im[16..].iter().map(|&b| b as f32 / 255.0).collect(),
            labels: labels_v,
        })
    }

    /// Read CIFAR binary batches: 10 classes (records of 1 label byte + 3072 pixels) or 100
    /// classes (coarse label, fine label, 3072 pixels; the fine label is used).
    pub fn read_cifar(files: &[PathBuf], classes: usize) -> Result<ImageSet> {
        let label_bytes = match classes {
            10 => 1,
            100 => 2,
            _ => {
                return Err(Error::invalid(
                    "classes",
                    format!("CIFAR has 10 or 100 classes, not {classes}"),
                ));
            }
        };
        if files.is_empty() {
            return Err(Error::invalid("files", "no CIFAR batch file given"));
        }
        let record = label_bytes + 3072;
        let mut parts = Vec::new();
        for f in files {
            let b = read_bytes(f)?;
            if b.is_empty() || b.len() % record != 0 {
                return Err(bad(
                    f,
                    "size",
                    format!(
                        "{} bytes is not a whole number of {record}-byte CIFAR-{classes} records",
                        b.len()
                    ),
                ));
            }
            let n = b.len() / record;
            let mut pixels = Vec::with_capacity(n * 3072);
            let mut labels = Vec::with_capacity(n);
            for r in b.chunks_exact(record) {
                labels.push(r[label_bytes - 1]);
                pixels.extend(r[label_bytes..].iter().map(|&p| p as f32 / 255.0));
            }
            Self::check_labels(f, &labels, classes)?;
            parts.push(ImageSet {
                channels: 3,
                height: 32,
                width: 32,
                classes,
                pixels,
                labels,
            });
        }
        Ok(Self::concat(parts))
    }

    /// Read scikit-learn's digits file (`digits.csv` or `digits.csv.gz`): 1797 rows of 64 pixel
    /// values in 0..=16 followed by the label.
    pub fn read_digits(path: &Path) -> Result<ImageSet> {
        let bytes = read_bytes(path)?;
        let text = String::from_utf8(bytes).map_err(|_| bad(path, "text", "not UTF-8 text"))?;
        let mut pixels = Vec::new();
        let mut labels = Vec::new();
        for (row, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let vals: Vec<&str> = line.split(',').collect();
            if vals.len() != 65 {
                return Err(bad(
                    path,
                    &format!("row {}", row + 1),
                    format!("expected 65 comma-separated values, found {}", vals.len()),
                ));
            }
            for (k, v) in vals.iter().enumerate() {
                let x: f64 = v.trim().parse().map_err(|_| {
                    bad(
                        path,
                        &format!("row {} column {}", row + 1, k + 1),
                        format!("`{v}` is not a number"),
                    )
                })?;
                let limit = if k == 64 { 9.0 } else { 16.0 };
                if !(0.0..=limit).contains(&x) || x.fract() != 0.0 {
                    return Err(bad(
                        path,
                        &format!("row {} column {}", row + 1, k + 1),
                        format!("{x} is not an integer in 0..={limit}"),
                    ));
                }
                if k == 64 {
                    labels.push(x as u8);
                } else {
                    pixels.push((x / 16.0) as f32);
                }
            }
        }
        if labels.is_empty() {
            return Err(bad(path, "rows", "no data row"));
        }
        Ok(ImageSet {
            channels: 1,
            height: 8,
            width: 8,
            classes: 10,
            pixels,
            labels,
        })
    }

    /// Load a data set of kind `kind` (one of [`DATASET_KINDS`]) from `path`:
    /// `mnist`: a folder with `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
    /// `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte` (each optionally `.gz`);
    /// `cifar10`: a folder with `data_batch_1.bin` … `data_batch_5.bin` and `test_batch.bin`
    /// (or its parent holding `cifar-10-batches-bin/`); `cifar100`: a folder with `train.bin` and
    /// `test.bin` (or its parent holding `cifar-100-binary/`); `digits`: the digits CSV file,
    /// split 80/20 by `seed`.
    pub fn load(kind: &str, path: &Path, seed: u64) -> Result<Split> {
        let sub = |name: &str| {
            let inner = path.join(name);
            if inner.is_dir() {
                inner
            } else {
                path.to_path_buf()
            }
        };
        match kind {
            "mnist" => Ok(Split {
                train: Self::read_mnist(
                    &with_gz(path, "train-images-idx3-ubyte"),
                    &with_gz(path, "train-labels-idx1-ubyte"),
                )?,
                test: Self::read_mnist(
                    &with_gz(path, "t10k-images-idx3-ubyte"),
                    &with_gz(path, "t10k-labels-idx1-ubyte"),
                )?,
            }),
            "cifar10" => {
                let dir = sub("cifar-10-batches-bin");
                let train: Vec<PathBuf> = (1..=5)
                    .map(|k| dir.join(format!("data_batch_{k}.bin")))
                    .collect();
                Ok(Split {
                    train: Self::read_cifar(&train, 10)?,
                    test: Self::read_cifar(&[dir.join("test_batch.bin")], 10)?,
                })
            }
            "cifar100" => {
                let dir = sub("cifar-100-binary");
                Ok(Split {
                    train: Self::read_cifar(&[dir.join("train.bin")], 100)?,
                    test: Self::read_cifar(&[dir.join("test.bin")], 100)?,
                })
            }
            "digits" => Self::read_digits(path)?.split(0.2, seed),
            _ => Err(Error::invalid(
                "data",
                format!(
                    "unknown data set kind `{kind}`; valid: {}",
                    DATASET_KINDS.join(", ")
                ),
            )),
        }
    }

    /// Quantize pixels to bytes (round(255·p)); used by the writers.
    fn bytes(&self) -> impl Iterator<Item = u8> + '_ {
        self.pixels
            .iter()
            .map(|&p| (p.clamp(0.0, 1.0) * 255.0).round() as u8)
    }

    /// Write the set as an MNIST idx pair (gzipped when a name ends in `.gz`). Single-channel
    /// sets only.
    pub fn write_mnist(&self, images: &Path, labels: &Path) -> Result<()> {
        if self.channels != 1 {
            return Err(Error::invalid(
                "channels",
                "idx files hold 1-channel images",
            ));
        }
        let mut im = Vec::with_capacity(16 + self.pixels.len());
        for v in [
            0x0803,
            self.len() as u32,
            self.height as u32,
            self.width as u32,
        ] {
            im.extend_from_slice(&v.to_be_bytes());
        }
        im.extend(self.bytes());
        let mut lb = Vec::with_capacity(8 + self.len());
        for v in [0x0801, self.len() as u32] {
            lb.extend_from_slice(&v.to_be_bytes());
        }
        lb.extend_from_slice(&self.labels);
        write_maybe_gz(images, &im)?;
        write_maybe_gz(labels, &lb)
    }

    /// Write the set as one CIFAR binary batch (3×32×32 images; 10 or 100 classes; for 100 the
    /// coarse label is written as fine / 5).
    pub fn write_cifar(&self, path: &Path) -> Result<()> {
        if (self.channels, self.height, self.width) != (3, 32, 32) {
            return Err(Error::invalid("shape", "CIFAR images are 3×32×32"));
        }
        let px: Vec<u8> = self.bytes().collect();
        let mut out = Vec::new();
        for i in 0..self.len() {
            if self.classes == 100 {
                out.push(self.labels[i] / 5);
            }
            out.push(self.labels[i]);
            out.extend_from_slice(&px[i * 3072..(i + 1) * 3072]);
        }
        write_maybe_gz(path, &out)
    }

    /// Random images with uniform pixels and labels drawn from stream (seed, "images.synthetic");
    /// for tests and throughput measurements.
    pub fn synthetic(
        n: usize,
        (channels, height, width): (usize, usize, usize),
        classes: usize,
        seed: u64,
    ) -> ImageSet {
        use rand::Rng;
        let mut rng = crate::rng::stream(seed, crate::rng::label_index("images.synthetic"));
        let size = channels * height * width;
        let pixels = (0..n * size)
            .map(|_| rng.random_range(0..=255u8) as f32 / 255.0)
            .collect();
        let labels = (0..n).map(|_| rng.random_range(0..classes) as u8).collect();
        ImageSet {
            channels,
            height,
            width,
            classes,
            pixels,
            labels,
        }
    }
}

fn write_maybe_gz(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let data = if path.extension().is_some_and(|e| e == "gz") {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(bytes)
            .and_then(|_| enc.finish())
            .map_err(|source| Error::Write {
                file: path.to_path_buf(),
                source,
            })?
    } else {
        bytes.to_vec()
    };
    crate::io::write_atomic(path, &data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mnist_round_trip_plain_and_gz() {
        let dir = tempfile::tempdir().unwrap();
        let set = ImageSet::synthetic(7, (1, 5, 4), 10, 3);
        for ext in ["", ".gz"] {
            let (i, l) = (
                dir.path().join(format!("im{ext}")),
                dir.path().join(format!("lb{ext}")),
            );
            set.write_mnist(&i, &l).unwrap();
            assert_eq!(ImageSet::read_mnist(&i, &l).unwrap(), set);
        }
    }

    #[test]
    fn cifar_round_trip_both_label_layouts() {
        let dir = tempfile::tempdir().unwrap();
        for classes in [10, 100] {
            let set = ImageSet::synthetic(3, (3, 32, 32), classes, 1);
            let p = dir.path().join(format!("c{classes}.bin"));
            set.write_cifar(&p).unwrap();
            assert_eq!(ImageSet::read_cifar(&[p], classes).unwrap(), set);
        }
    }

    #[test]
    fn malformed_files_name_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.bin");
        std::fs::write(&p, vec![0u8; 3000]).unwrap();
        let e = ImageSet::read_cifar(std::slice::from_ref(&p), 10).unwrap_err();
        assert!(e.to_string().contains("size"), "{e}");
        let e = ImageSet::read_mnist(&p, &p).unwrap_err();
        assert!(e.to_string().contains("magic"), "{e}");
        let mut rec = vec![0u8; 3073];
        rec[0] = 12;
        std::fs::write(&p, &rec).unwrap();
        let e = ImageSet::read_cifar(std::slice::from_ref(&p), 10).unwrap_err();
        assert!(e.to_string().contains("label 12"), "{e}");
        std::fs::write(&p, "1,2,3\n").unwrap();
        let e = ImageSet::read_digits(&p).unwrap_err();
        assert!(e.to_string().contains("row 1"), "{e}");
        let e = ImageSet::load("svhn", &p, 0).unwrap_err();
        assert!(e.to_string().contains("unknown data set kind"), "{e}");
    }

    #[test]
    fn digits_split_is_deterministic_and_disjoint() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("digits.csv");
        let mut text = String::new();
        for i in 0..50 {
            let row: Vec<String> = (0..64).map(|k| ((i + k) % 17).to_string()).collect();
            text.push_str(&format!("{},{}\n", row.join(","), i % 10));
        }
        std::fs::write(&p, text).unwrap();
        let a = ImageSet::load("digits", &p, 5).unwrap();
        let b = ImageSet::load("digits", &p, 5).unwrap();
        assert_eq!(a, b);
        assert_eq!((a.train.len(), a.test.len()), (40, 10));
        assert_eq!(a.train.image(0).len(), 64);
        assert!(a.train.pixels.iter().all(|&p| (0.0..=1.0).contains(&p)));
    }
}
