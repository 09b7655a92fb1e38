//! Photo size codes accepted by GetUserPhoto.

use std::fmt;
use std::str::FromStr;

/// A photo size code as the EWS schema spells it (`UserPhotoSizeType`).
///
/// Parsing is forgiving (`96`, `96x96`, `hr96x96` and `HR96x96` all mean
/// [`PhotoSize::Hr96`]); [`PhotoSize::code`] always gives the exact, case-sensitive
/// schema value that Exchange requires.
///
/// ```
/// use ews_photo::PhotoSize;
/// let size: PhotoSize = "240".parse().unwrap();
/// assert_eq!(size.code(), "HR240x240");
/// assert_eq!("hr1024xn".parse::<PhotoSize>().unwrap(), PhotoSize::Hr1024xN);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum PhotoSize {
    /// 48x48 pixels.
    Hr48,
    /// 64x64 pixels.
    Hr64,
    /// 96x96 pixels.
    #[default]
    Hr96,
    /// 120x120 pixels.
    Hr120,
    /// 240x240 pixels.
    Hr240,
    /// 360x360 pixels.
    Hr360,
    /// 432x432 pixels.
    Hr432,
    /// 504x504 pixels.
    Hr504,
    /// 648x648 pixels.
    Hr648,
    /// Width 1024, height unspecified (Exchange 2016 and later, Exchange Online).
    Hr1024xN,
    /// Width 1920, height unspecified (Exchange 2016 and later, Exchange Online).
    Hr1920xN,
}

impl PhotoSize {
    /// Every size, smallest first.
    pub const ALL: [PhotoSize; 11] = [
        PhotoSize::Hr48,
        PhotoSize::Hr64,
        PhotoSize::Hr96,
        PhotoSize::Hr120,
        PhotoSize::Hr240,
        PhotoSize::Hr360,
        PhotoSize::Hr432,
        PhotoSize::Hr504,
        PhotoSize::Hr648,
        PhotoSize::Hr1024xN,
        PhotoSize::Hr1920xN,
    ];

    /// The schema value sent on the wire, e.g. `HR240x240`.
    pub fn code(self) -> &'static str {
        match self {
            PhotoSize::Hr48 => "HR48x48",
            PhotoSize::Hr64 => "HR64x64",
            PhotoSize::Hr96 => "HR96x96",
            PhotoSize::Hr120 => "HR120x120",
            PhotoSize::Hr240 => "HR240x240",
            PhotoSize::Hr360 => "HR360x360",
            PhotoSize::Hr432 => "HR432x432",
            PhotoSize::Hr504 => "HR504x504",
            PhotoSize::Hr648 => "HR648x648",
            PhotoSize::Hr1024xN => "HR1024xN",
            PhotoSize::Hr1920xN => "HR1920xN",
        }
    }

    /// The requested width in pixels (the server may send another size).
    pub fn width(self) -> u32 {
        match self {
            PhotoSize::Hr48 => 48,
            PhotoSize::Hr64 => 64,
            PhotoSize::Hr96 => 96,
            PhotoSize::Hr120 => 120,
            PhotoSize::Hr240 => 240,
            PhotoSize::Hr360 => 360,
            PhotoSize::Hr432 => 432,
            PhotoSize::Hr504 => 504,
            PhotoSize::Hr648 => 648,
            PhotoSize::Hr1024xN => 1024,
            PhotoSize::Hr1920xN => 1920,
        }
    }

    /// The codes joined for help texts and error messages.
    pub fn list() -> String {
        Self::ALL
            .iter()
            .map(|s| s.code())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for PhotoSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The size text was not one of the known codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown photo size '{0}': use one of {list} (or just the width, e.g. 240)", list = PhotoSize::list())]
pub struct UnknownSize(pub String);

impl FromStr for PhotoSize {
    type Err = UnknownSize;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let lower = text.trim().to_ascii_lowercase();
        let rest = lower.strip_prefix("hr").unwrap_or(&lower);
        let found = PhotoSize::ALL.into_iter().find(|size| {
            let width = size.width().to_string();
            match size {
                PhotoSize::Hr1024xN | PhotoSize::Hr1920xN => {
                    rest == width || rest == format!("{width}xn")
                }
                _ => rest == width || rest == format!("{width}x{width}"),
            }
        });
        found.ok_or_else(|| UnknownSize(text.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips() {
        for size in PhotoSize::ALL {
            assert_eq!(size.code().parse::<PhotoSize>().unwrap(), size);
            assert_eq!(size.width().to_string().parse::<PhotoSize>().unwrap(), size);
        }
    }

    #[test]
    fn forgiving_spellings() {
        assert_eq!("96x96".parse::<PhotoSize>().unwrap(), PhotoSize::Hr96);
        assert_eq!("hr96x96".parse::<PhotoSize>().unwrap(), PhotoSize::Hr96);
        assert_eq!("HR96X96".parse::<PhotoSize>().unwrap(), PhotoSize::Hr96);
        assert_eq!(" 648 ".parse::<PhotoSize>().unwrap(), PhotoSize::Hr648);
        assert_eq!("1920xN".parse::<PhotoSize>().unwrap(), PhotoSize::Hr1920xN);
    }

    #[test]
    fn unknown_sizes_are_refused_with_the_list() {
        for bad in ["", "97", "96x48", "HR", "hr96x96x96", "1024x1024"] {
            let err = bad.parse::<PhotoSize>().unwrap_err();
            assert!(err.to_string().contains("HR48x48"), "{err}");
        }
    }
}
