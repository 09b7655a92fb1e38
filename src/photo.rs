//! The image itself: its real format and size, read from the bytes (the server
//! may send another size or type than asked), and conversion on request.

use std::io::Cursor;

/// Image formats a server may send or the tool may write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// JPEG, what Exchange normally sends.
    Jpeg,
    /// PNG.
    Png,
    /// GIF (the 1×1 "clear image").
    Gif,
    /// WebP.
    Webp,
    /// BMP.
    Bmp,
}

impl Format {
    /// Every format, the usual one first.
    pub const ALL: [Format; 5] = [
        Format::Jpeg,
        Format::Png,
        Format::Gif,
        Format::Webp,
        Format::Bmp,
    ];

    /// The file extension, without dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            Format::Png => "png",
            Format::Gif => "gif",
            Format::Webp => "webp",
            Format::Bmp => "bmp",
        }
    }

    /// The name people know it by (`JPEG`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "JPEG",
            Format::Png => "PNG",
            Format::Gif => "GIF",
            Format::Webp => "WebP",
            Format::Bmp => "BMP",
        }
    }

    /// The MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Gif => "image/gif",
            Format::Webp => "image/webp",
            Format::Bmp => "image/bmp",
        }
    }

    fn image_format(self) -> image::ImageFormat {
        match self {
            Format::Jpeg => image::ImageFormat::Jpeg,
            Format::Png => image::ImageFormat::Png,
            Format::Gif => image::ImageFormat::Gif,
            Format::Webp => image::ImageFormat::WebP,
            Format::Bmp => image::ImageFormat::Bmp,
        }
    }
}

/// What the bytes turned out to be.
///
/// ```
/// // A 1×1 GIF, as Exchange's "clear image" fallback sends it.
/// let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
/// let info = ews_photo::photo::inspect(gif).unwrap();
/// assert_eq!((info.width, info.height), (1, 1));
/// assert!(info.is_clear_image());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageInfo {
    /// The real format.
    pub format: Format,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl ImageInfo {
    /// True for the 1×1 GIF that stands for "no photo" (`fallbackToClearImage`).
    pub fn is_clear_image(&self) -> bool {
        self.format == Format::Gif && self.width <= 1 && self.height <= 1
    }

    /// True when a claimed content type agrees with the bytes.
    pub fn matches_content_type(&self, content_type: &str) -> bool {
        let claimed = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        claimed == self.format.mime() || (self.format == Format::Jpeg && claimed == "image/jpg")
    }
}

/// The bytes are not a usable image.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    /// No known image signature.
    #[error("the server sent {0}, not an image")]
    NotAnImage(String),
    /// A known signature, but the image is cut short or damaged.
    #[error(
        "the {format} image is incomplete or damaged ({reason}); the answer was probably cut short"
    )]
    Damaged {
        /// The format from the signature.
        format: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The 1×1 GIF that stands for "no photo" (`fallbackToClearImage`).
    #[error("the server sent the 1×1 placeholder image")]
    Placeholder,
    /// Conversion failed.
    #[error("cannot convert the {from} image to {to}: {reason}")]
    Convert {
        /// The source format.
        from: &'static str,
        /// The target format.
        to: &'static str,
        /// The codec's reason.
        reason: String,
    },
}

/// Reads the format and dimensions from the header, and checks the image is
/// complete (JPEG end marker, PNG `IEND`, GIF trailer, RIFF length), without
/// decoding the pixels.
pub fn inspect(bytes: &[u8]) -> Result<ImageInfo, PhotoError> {
    let format = match imagesize::image_type(bytes) {
        Ok(imagesize::ImageType::Jpeg) => Format::Jpeg,
        Ok(imagesize::ImageType::Png) => Format::Png,
        Ok(imagesize::ImageType::Gif) => Format::Gif,
        Ok(imagesize::ImageType::Webp) => Format::Webp,
        Ok(imagesize::ImageType::Bmp) => Format::Bmp,
        _ => return Err(PhotoError::NotAnImage(describe(bytes))),
    };
    let damaged = |reason: &str| PhotoError::Damaged {
        format: format.extension(),
        reason: reason.to_string(),
    };
    let size = imagesize::blob_size(bytes).map_err(|e| damaged(&e.to_string()))?;
    if size.width == 0 || size.height == 0 {
        return Err(damaged("zero width or height"));
    }
    check_complete(format, bytes).map_err(damaged)?;
    Ok(ImageInfo {
        format,
        width: u32::try_from(size.width).map_err(|_| damaged("absurd width"))?,
        height: u32::try_from(size.height).map_err(|_| damaged("absurd height"))?,
    })
}

fn check_complete(format: Format, bytes: &[u8]) -> Result<(), &'static str> {
    match format {
        Format::Jpeg => {
            // EOI must close the image; encoders may pad a few bytes after it.
            let tail = &bytes[bytes.len().saturating_sub(64)..];
            if tail.windows(2).any(|w| w == [0xFF, 0xD9]) {
                Ok(())
            } else {
                Err("no end-of-image marker")
            }
        }
        Format::Png => {
            let tail = &bytes[bytes.len().saturating_sub(32)..];
            if tail.windows(4).any(|w| w == b"IEND") {
                Ok(())
            } else {
                Err("no IEND chunk")
            }
        }
        Format::Gif => {
            if bytes.last() == Some(&0x3B) {
                Ok(())
            } else {
                Err("no trailer")
            }
        }
        Format::Webp => {
            let declared = bytes
                .get(4..8)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize + 8);
            if declared.is_some_and(|len| len <= bytes.len()) {
                Ok(())
            } else {
                Err("shorter than its RIFF header says")
            }
        }
        Format::Bmp => {
            let declared = bytes
                .get(2..6)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
            if declared.is_some_and(|len| len <= bytes.len()) {
                Ok(())
            } else {
                Err("shorter than its header says")
            }
        }
    }
}

/// A short, safe description of bytes that are not an image.
fn describe(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "nothing".into();
    }
    let head = &bytes[..bytes.len().min(40)];
    let printable = head
        .iter()
        .all(|b| b.is_ascii_graphic() || *b == b' ' || b.is_ascii_whitespace());
    if printable {
        let text: String = String::from_utf8_lossy(head)
            .chars()
            .map(|c| if c.is_ascii_whitespace() { ' ' } else { c })
            .collect();
        format!("{} bytes of text starting \"{}\"", bytes.len(), text.trim())
    } else {
        let hex: Vec<String> = head.iter().take(8).map(|b| format!("{b:02x}")).collect();
        format!("{} bytes starting {}", bytes.len(), hex.join(" "))
    }
}

/// A photo checked and ready to write.
#[derive(Debug)]
pub struct Prepared {
    /// The bytes to write (converted when asked).
    pub bytes: Vec<u8>,
    /// Their format.
    pub format: Format,
    /// The real format and dimensions of what the server sent.
    pub info: ImageInfo,
    /// The content type the server claimed, when the bytes are something else.
    pub mislabelled_as: Option<String>,
}

impl Prepared {
    /// A warning for a mislabelled image, if it was.
    pub fn mislabel_warning(&self, email: &str) -> Option<String> {
        self.mislabelled_as.as_ref().map(|claimed| {
            format!(
                "{email}: the server said {claimed} but sent {}; writing it as {}",
                self.info.format.mime(),
                self.info.format.extension()
            )
        })
    }
}

/// Checks a photo from the server and converts it when asked: the one
/// per-photo step shared by `get` and `export`. The 1×1 "clear image" is
/// [`PhotoError::Placeholder`]; a damaged or non-image answer is an error.
///
/// ```
/// let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
/// let err = ews_photo::photo::prepare(gif.to_vec(), Some("image/gif"), None).unwrap_err();
/// assert!(matches!(err, ews_photo::photo::PhotoError::Placeholder));
/// ```
pub fn prepare(
    bytes: Vec<u8>,
    claimed: Option<&str>,
    to: Option<Format>,
) -> Result<Prepared, PhotoError> {
    let info = inspect(&bytes)?;
    if info.is_clear_image() {
        return Err(PhotoError::Placeholder);
    }
    let mislabelled_as = claimed
        .filter(|claimed| !info.matches_content_type(claimed))
        .map(str::to_string);
    let (bytes, format) = match to {
        Some(to) if to != info.format => (convert(&bytes, info.format, to)?, to),
        _ => (bytes, info.format),
    };
    Ok(Prepared {
        bytes,
        format,
        info,
        mislabelled_as,
    })
}

/// Largest image the converter will decode (pixels per side, bytes in all), so
/// a hostile header cannot make it allocate gigabytes.
const MAX_SIDE: u32 = 8192;
const MAX_ALLOC: u64 = 512 * 1024 * 1024;

/// Re-encodes an image in another format. Decodes the pixels, so it is only
/// called when the user asked for a conversion.
pub fn convert(bytes: &[u8], from: Format, to: Format) -> Result<Vec<u8>, PhotoError> {
    let fail = |reason: String| PhotoError::Convert {
        from: from.extension(),
        to: to.extension(),
        reason,
    };
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), from.image_format());
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let decoded = reader.decode().map_err(|e| fail(e.to_string()))?;
    // JPEG has no alpha channel: flatten first.
    let decoded = match to {
        Format::Jpeg => image::DynamicImage::ImageRgb8(decoded.to_rgb8()),
        _ => decoded,
    };
    let mut out = Cursor::new(Vec::new());
    decoded
        .write_to(&mut out, to.image_format())
        .map_err(|e| fail(e.to_string()))?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(format: image::ImageFormat, width: u32, height: u32) -> Vec<u8> {
        let img =
            image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 128]));
        let mut out = Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(img)
            .write_to(&mut out, format)
            .unwrap();
        out.into_inner()
    }

    #[test]
    fn real_dimensions_come_from_the_bytes() {
        let jpeg = encode(image::ImageFormat::Jpeg, 120, 90);
        let info = inspect(&jpeg).unwrap();
        assert_eq!(
            info,
            ImageInfo {
                format: Format::Jpeg,
                width: 120,
                height: 90
            }
        );
        assert!(info.matches_content_type("image/jpeg"));
        assert!(info.matches_content_type("IMAGE/JPG; q=1"));
        assert!(!info.matches_content_type("image/png"));
    }

    #[test]
    fn truncated_images_are_damaged() {
        let jpeg = encode(image::ImageFormat::Jpeg, 64, 64);
        assert!(matches!(
            inspect(&jpeg[..jpeg.len() / 2]),
            Err(PhotoError::Damaged { .. })
        ));
        let png = encode(image::ImageFormat::Png, 64, 64);
        assert!(matches!(
            inspect(&png[..png.len() - 20]),
            Err(PhotoError::Damaged { .. })
        ));
        assert!(inspect(&jpeg[..3]).is_err());
    }

    #[test]
    fn text_is_not_an_image() {
        let err = inspect(b"<html>this is not an image</html>").unwrap_err();
        assert!(
            err.to_string().contains("text starting \"<html>this"),
            "{err}"
        );
        assert!(inspect(b"").unwrap_err().to_string().contains("nothing"));
        assert!(
            inspect(&[0u8, 1, 2, 3, 4, 5, 6, 7, 8, 9])
                .unwrap_err()
                .to_string()
                .contains("00 01 02")
        );
    }

    #[test]
    fn conversion_round_trip() {
        let jpeg = encode(image::ImageFormat::Jpeg, 48, 40);
        for to in [Format::Png, Format::Webp, Format::Jpeg] {
            let out = convert(&jpeg, Format::Jpeg, to).unwrap();
            let info = inspect(&out).unwrap();
            assert_eq!((info.format, info.width, info.height), (to, 48, 40));
        }
        let png = convert(&jpeg, Format::Jpeg, Format::Png).unwrap();
        let back = convert(&png, Format::Png, Format::Jpeg).unwrap();
        assert_eq!(inspect(&back).unwrap().format, Format::Jpeg);
    }
}
