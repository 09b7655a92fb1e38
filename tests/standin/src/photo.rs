//! The photos the stand-in serves: real, deterministic images per size code
//! and photo version, drawn once and cached, and the ETag of each.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::lock;

/// The size codes Exchange accepts (exact case).
pub(crate) const SIZES: [&str; 11] = [
    "HR48x48",
    "HR64x64",
    "HR96x96",
    "HR120x120",
    "HR240x240",
    "HR360x360",
    "HR432x432",
    "HR504x504",
    "HR648x648",
    "HR1024xN",
    "HR1920xN",
];

/// A 1×1 transparent GIF89a, like Exchange's `fallbackToClearImage` answer.
pub(crate) const CLEAR_GIF: [u8; 43] = [
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xFF, 0xFF, 0xFF, 0x21, 0xF9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3B,
];

/// Bytes labelled `image/jpeg` that are not an image at all.
pub(crate) const NOT_IMAGE: &[u8] = b"<html>this is not an image</html>";

/// The ETag the server sends for an address, size code and photo version:
/// quoted 32-bit FNV-1a of `lowercase(email)|size|version` in hex, e.g.
/// `"\"1a2b3c4d\""`.
pub fn etag_for(email: &str, size: &str, version: u32) -> String {
    let key = format!("{}|{}|{}", email.to_lowercase(), size, version);
    format!("\"{:08x}\"", fnv1a(key.as_bytes()))
}

pub(crate) fn fnv1a(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in bytes {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

type PhotoKey = (String, u32, bool);
/// One picture, drawn by the first request that needs it while others wait.
type PhotoCell = Arc<OnceLock<Arc<Vec<u8>>>>;

/// Every picture drawn so far: encoding a 1920×1440 JPEG takes long enough to
/// matter in a benchmark, so each is drawn once.
#[derive(Default)]
pub(crate) struct Photos {
    cache: Mutex<HashMap<PhotoKey, PhotoCell>>,
}

impl Photos {
    /// The JPEG (or PNG) for a size code and version; an unknown size code
    /// gives the HR96x96 picture.
    pub(crate) fn get(&self, size: &str, version: u32, png: bool) -> Arc<Vec<u8>> {
        let size = if SIZES.contains(&size) {
            size
        } else {
            "HR96x96"
        };
        let cell = Arc::clone(
            lock(&self.cache)
                .entry((size.to_string(), version, png))
                .or_default(),
        );
        Arc::clone(cell.get_or_init(|| Arc::new(render(size, version, png))))
    }
}

fn dimensions(size: &str) -> (u32, u32) {
    match size {
        "HR1024xN" => (1024, 768),
        "HR1920xN" => (1920, 1440),
        _ => size
            .strip_prefix("HR")
            .and_then(|s| s.split('x').next())
            .and_then(|n| n.parse().ok())
            .map(|n| (n, n))
            .unwrap_or((96, 96)),
    }
}

/// Draws the deterministic picture: a gradient, a head-like disc and a
/// version-dependent colour band; encodes it as JPEG (quality 85) or PNG.
fn render(size: &str, version: u32, png: bool) -> Vec<u8> {
    let (w, h) = dimensions(size);
    let hash = fnv1a(&version.to_le_bytes());
    let band = [(hash >> 16) as u8, (hash >> 8) as u8, hash as u8];
    let band_top = h * (2 + version % 6) / 10;
    let band_bottom = band_top + (h / 8).max(1);
    let (cx, cy, r) = (w as i64 / 2, h as i64 * 2 / 5, (w.min(h) / 5).max(1) as i64);
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as i64 - cx, y as i64 - cy);
        if y >= band_top && y < band_bottom {
            image::Rgb(band)
        } else if dx * dx + dy * dy <= r * r {
            image::Rgb([230, 190, 160])
        } else {
            image::Rgb([
                (x * 255 / w) as u8,
                (y * 255 / h) as u8,
                ((x + y) * 127 / (w + h)) as u8 + 64,
            ])
        }
    });
    let mut out = Vec::new();
    let result = if png {
        img.write_with_encoder(image::codecs::png::PngEncoder::new(&mut out))
    } else {
        img.write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
            &mut out, 85,
        ))
    };
    result.expect("encoding an in-memory image cannot fail");
    out
}
