use trailscan_archive::sidecar::{parse_sidecar, sidecar_text};
use trailscan_integrity::manifest::Manifest;

/// The two files `trailscan acquire` writes into an evidence copy, read back: a digest's
/// metadata sidecar and the copy's manifest. A manifest that reads must read the same after
/// being written again (a resumed copy rewrites it), and so must a sidecar.
pub fn sidecar_manifest(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(metadata) = parse_sidecar(text) {
        assert_eq!(parse_sidecar(&sidecar_text("k", &metadata)), Ok(metadata));
    }
    if let Ok(manifest) = Manifest::parse(text) {
        assert_eq!(Manifest::parse(&manifest.to_text()).as_ref(), Ok(&manifest));
    }
}
