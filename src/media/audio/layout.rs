//! Channel layouts as people name them: `mono`, `stereo`, `5.1`, ... (ffmpeg's names), or the
//! channel names joined with `+` (`FL+FR+LFE2`) when a layout has no common name.
//! Must not know about JSON, MCP or how the layout was probed.

use symphonia::core::audio::{ChannelLabel, Channels, Position};

/// ffmpeg's short name of each position bit of [`Position`], in bit order (bit 0 = `FL`).
/// Symphonia's "rear" is ffmpeg's "back" (`BL`, `BR`, `BC`).
const POSITION_NAMES: [&str; 28] = [
    "FL", "FR", "FC", "LFE", "BL", "BR", "FLC", "FRC", "BC", "SL", "SR", "TC", "TFL", "TFC", "TFR",
    "TBL", "TBC", "TBR", "LFE2", "TSL", "TSR", "BFC", "BFL", "BFR", "WL", "WR", "BLC", "BRC",
];

/// Common layouts (ffmpeg's `-layouts` names) by their channels, in WAVE order.
const NAMED: &[(&str, &[&str])] = &[
    ("stereo", &["FL", "FR"]),
    ("2.1", &["FL", "FR", "LFE"]),
    ("3.0", &["FL", "FR", "FC"]),
    ("3.0(back)", &["FL", "FR", "BC"]),
    ("4.0", &["FL", "FR", "FC", "BC"]),
    ("quad", &["FL", "FR", "BL", "BR"]),
    ("quad(side)", &["FL", "FR", "SL", "SR"]),
    ("3.1", &["FL", "FR", "FC", "LFE"]),
    ("5.0", &["FL", "FR", "FC", "BL", "BR"]),
    ("5.0(side)", &["FL", "FR", "FC", "SL", "SR"]),
    ("4.1", &["FL", "FR", "FC", "LFE", "BC"]),
    ("5.1", &["FL", "FR", "FC", "LFE", "BL", "BR"]),
    ("5.1(side)", &["FL", "FR", "FC", "LFE", "SL", "SR"]),
    ("6.0", &["FL", "FR", "FC", "BC", "SL", "SR"]),
    ("hexagonal", &["FL", "FR", "FC", "BL", "BR", "BC"]),
    ("6.1", &["FL", "FR", "FC", "LFE", "BC", "SL", "SR"]),
    ("6.1(back)", &["FL", "FR", "FC", "LFE", "BL", "BR", "BC"]),
    ("7.0", &["FL", "FR", "FC", "BL", "BR", "SL", "SR"]),
    ("7.1", &["FL", "FR", "FC", "LFE", "BL", "BR", "SL", "SR"]),
    (
        "7.1(wide)",
        &["FL", "FR", "FC", "LFE", "BL", "BR", "FLC", "FRC"],
    ),
    (
        "7.1(wide-side)",
        &["FL", "FR", "FC", "LFE", "FLC", "FRC", "SL", "SR"],
    ),
    (
        "octagonal",
        &["FL", "FR", "FC", "BL", "BR", "BC", "SL", "SR"],
    ),
];

fn position_name(p: Position) -> &'static str {
    POSITION_NAMES
        .get(p.bits().trailing_zeros() as usize)
        .copied()
        .unwrap_or("?")
}

/// The name of each channel, in stream order (`FL`, `FR`, ...; `D0`, `D1`, ... for unpositioned
/// channels; `ACN0`, ... for Ambisonic components).
pub fn channel_names(ch: &Channels) -> Vec<String> {
    match ch {
        Channels::Positioned(p) => p.iter().map(|x| position_name(x).to_string()).collect(),
        Channels::Discrete(n) => (0..*n).map(|i| format!("D{i}")).collect(),
        Channels::Ambisonic(order) => {
            let n = (1 + usize::from(*order)).pow(2);
            (0..n).map(|i| format!("ACN{i}")).collect()
        }
        Channels::Custom(labels) => labels
            .iter()
            .map(|l| match l {
                ChannelLabel::Positioned(p) => position_name(*p).to_string(),
                ChannelLabel::Discrete(i) => format!("D{i}"),
                ChannelLabel::Ambisonic(acn) => format!("ACN{acn}"),
                ChannelLabel::AmbisonicBFormat(c) => c.to_string(),
                _ => "?".to_string(),
            })
            .collect(),
        _ => vec![],
    }
}

/// The layout's common name: `mono` for any single channel, the ffmpeg name of a known layout,
/// `N channels` for unpositioned ones, `ambisonic order N`, or else the channel names joined
/// with `+` (ffmpeg's notation for an unnamed layout).
pub fn layout_name(ch: &Channels) -> String {
    if ch.count() == 1 {
        return "mono".into();
    }
    match ch {
        Channels::Discrete(n) => format!("{n} channels"),
        Channels::Ambisonic(order) => format!("ambisonic order {order}"),
        _ => {
            let names = channel_names(ch);
            NAMED
                .iter()
                .find(|(_, chans)| chans.iter().eq(names.iter()))
                .map(|(n, _)| n.to_string())
                .unwrap_or_else(|| names.join("+"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(p: Position) -> Channels {
        Channels::Positioned(p)
    }

    #[test]
    fn common_layouts_have_their_common_names() {
        assert_eq!(layout_name(&pos(Position::FRONT_LEFT)), "mono");
        assert_eq!(layout_name(&pos(Position::FRONT_CENTER)), "mono");
        assert_eq!(
            layout_name(&pos(Position::FRONT_LEFT | Position::FRONT_RIGHT)),
            "stereo"
        );
        assert_eq!(
            layout_name(&pos(Position::FRONT_LEFT
                | Position::FRONT_RIGHT
                | Position::LFE1)),
            "2.1"
        );
        assert_eq!(
            layout_name(&pos(Position::FRONT_LEFT
                | Position::FRONT_RIGHT
                | Position::REAR_LEFT
                | Position::REAR_RIGHT)),
            "quad"
        );
        // WAVE's 6-channel default mask is 5.1 (back).
        assert_eq!(
            layout_name(&pos(Position::from_wave_channel_count(6).unwrap())),
            "5.1"
        );
        let side71 = Position::FRONT_LEFT
            | Position::FRONT_RIGHT
            | Position::FRONT_CENTER
            | Position::LFE1
            | Position::REAR_LEFT
            | Position::REAR_RIGHT
            | Position::SIDE_LEFT
            | Position::SIDE_RIGHT;
        assert_eq!(layout_name(&pos(side71)), "7.1");
    }

    #[test]
    fn unnamed_layouts_list_their_channels() {
        let odd = Position::FRONT_LEFT | Position::FRONT_RIGHT | Position::LFE2;
        assert_eq!(layout_name(&pos(odd)), "FL+FR+LFE2");
        assert_eq!(channel_names(&pos(odd)), ["FL", "FR", "LFE2"]);
        assert_eq!(layout_name(&Channels::Discrete(3)), "3 channels");
        assert_eq!(channel_names(&Channels::Discrete(2)), ["D0", "D1"]);
        assert_eq!(layout_name(&Channels::Ambisonic(1)), "ambisonic order 1");
        assert_eq!(channel_names(&Channels::Ambisonic(1)).len(), 4);
        let custom = Channels::Custom(
            vec![
                ChannelLabel::Positioned(Position::FRONT_CENTER),
                ChannelLabel::Discrete(7),
            ]
            .into_boxed_slice(),
        );
        assert_eq!(layout_name(&custom), "FC+D7");
    }
}
