//! The ffmpeg command lines of the encoder: libaom-av1 two-pass, libopus, codec2 1200.

use super::choose::Shape;

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

/// One libaom-av1 pass (1: analysis to /dev/null, 2: the IVF at `out`) over `seconds` of `input`
/// from `start`, at `kbps`, with the first-pass statistics in `passlog`.
pub(super) struct Av1<'a> {
    pub input: &'a str,
    pub passlog: &'a str,
    pub out: &'a str,
    pub shape: Shape,
    pub kbps: f64,
    pub cpu_used: u8,
    pub span: (f64, f64),
    /// At most this many frames between keyframes (libaom's kf-max-dist).
    pub gop: u32,
    /// How libaom's two-pass rate control spends the rate.
    pub control: RateControl,
}

/// libaom's two-pass rate control: as it comes, or held to the rate frame section by frame section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RateControl {
    /// libaom's defaults. At these rates its size for a rate can jump (one measured clip: 23,944
    /// bytes at 13.4 kbit/s, 32,994 at 13.6) when it moves a hard section off the top quantizer.
    Default,
    /// `-undershoot-pct 100 -overshoot-pct 0`: the rate control corrects toward the rate as it
    /// goes instead of banking the difference, and the size grows smoothly with the rate (on the
    /// same clip: 28,030 bytes at 20, 31,529 at 22, 35,508 at 24 kbit/s).
    Steady,
}

impl Av1<'_> {
    pub(super) fn pass(&self, pass: u8) -> Vec<String> {
        let (start, seconds) = self.span;
        let mut a = strings(&["-y", "-v", "error", "-ss", &format!("{start:.3}")]);
        a.extend(strings(&[
            "-i",
            self.input,
            "-t",
            &format!("{seconds:.3}"),
            "-an",
        ]));
        a.extend(strings(&[
            "-vf",
            &self.shape.filter(),
            "-c:v",
            "libaom-av1",
        ]));
        a.extend(strings(&["-b:v", &format!("{:.2}k", self.kbps)]));
        a.extend(strings(&[
            "-cpu-used",
            &self.cpu_used.to_string(),
            "-row-mt",
            "1",
            "-g",
            &self.gop.to_string(),
        ]));
        if self.control == RateControl::Steady {
            a.extend(strings(&["-undershoot-pct", "100", "-overshoot-pct", "0"]));
        }
        a.extend(strings(&[
            "-passlogfile",
            self.passlog,
            "-pass",
            &pass.to_string(),
        ]));
        if pass == 1 {
            a.extend(strings(&["-f", "null", "/dev/null"]));
        } else {
            a.extend(strings(&["-f", "ivf", self.out]));
        }
        a
    }
}

/// Mono audio from the first `seconds` of `input`, in `codec` (its options), to `out`.
fn audio(input: &str, seconds: f64, codec: &[&str], out: &str) -> Vec<String> {
    let t = format!("{seconds:.3}");
    let mut a = strings(&[
        "-y", "-v", "error", "-i", input, "-t", &t, "-vn", "-ac", "1",
    ]);
    a.extend(strings(codec));
    a.push(out.to_owned());
    a
}

/// libopus at `kbps`, 60 ms frames, in Ogg.
pub(super) fn opus(input: &str, seconds: f64, kbps: f64, out: &str) -> Vec<String> {
    let rate = format!("{kbps:.1}k");
    let codec = [
        "-c:a",
        "libopus",
        "-b:a",
        &rate,
        "-frame_duration",
        "60",
        "-application",
        "audio",
        "-f",
        "ogg",
    ];
    audio(input, seconds, &codec, out)
}

/// Codec 2 at 1200 bit/s (8 kHz), raw frames.
pub(super) fn codec2(input: &str, seconds: f64, out: &str) -> Vec<String> {
    let codec = [
        "-ar",
        "8000",
        "-c:a",
        "libcodec2",
        "-mode",
        "1200",
        "-f",
        "codec2raw",
    ];
    audio(input, seconds, &codec, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(a: &[String]) -> String {
        a.join(" ")
    }

    #[test]
    fn the_command_lines_are_pinned() {
        let av1 = Av1 {
            input: "in.mkv",
            passlog: "/t/pass",
            out: "/t/v.ivf",
            shape: Shape {
                scale: (-2, 144),
                fps: 12,
            },
            kbps: 11.456,
            cpu_used: 6,
            span: (1.5, 3.0),
            gop: 120,
            control: RateControl::Default,
        };
        let common = "-y -v error -ss 1.500 -i in.mkv -t 3.000 -an -vf fps=12,scale=-2:144 \
                      -c:v libaom-av1 -b:v 11.46k -cpu-used 6 -row-mt 1 -g 120 -passlogfile /t/pass";
        assert_eq!(
            line(&av1.pass(1)),
            format!("{common} -pass 1 -f null /dev/null")
        );
        assert_eq!(
            line(&av1.pass(2)),
            format!("{common} -pass 2 -f ivf /t/v.ivf")
        );
        assert_eq!(
            line(&opus("in.mkv", 2.0, 8.0, "a.ogg")),
            "-y -v error -i in.mkv -t 2.000 -vn -ac 1 -c:a libopus -b:a 8.0k -frame_duration 60 \
             -application audio -f ogg a.ogg"
        );
        assert_eq!(
            line(&codec2("in.mkv", 2.0, "a.c2")),
            "-y -v error -i in.mkv -t 2.000 -vn -ac 1 -ar 8000 -c:a libcodec2 -mode 1200 \
             -f codec2raw a.c2"
        );
    }
}
