"""What every output says about itself: an AI animation of a still photo, made by Nostalgia.

The same statement goes into each format's own metadata slot (MP4/WebM ``comment`` and
``description`` tags, a GIF comment extension, XMP in WebP, a JPEG COM segment, a PNG tEXt
chunk) so that the clip stays labelled after it leaves the service. The XMP packet also sets
the IPTC "digital source type" used by responsible-AI labelling schemes.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

__all__ = ["DIGITAL_SOURCE_TYPE", "PROVENANCE_TEXT", "SOFTWARE", "xmp_packet"]

SOFTWARE = "Nostalgia"
PROVENANCE_TEXT = (
    "AI animation of a still photograph, made by Nostalgia. "
    "The motion is synthetic: the person in the original photo did not move like this."
)
DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"


def xmp_packet(text: str = PROVENANCE_TEXT) -> bytes:
    """A minimal XMP packet carrying the statement, the producing software and the source type."""
    body = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about=""'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
        ' xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">'
        "<dc:description><rdf:Alt>"
        f'<rdf:li xml:lang="x-default">{escape(text)}</rdf:li>'
        "</rdf:Alt></dc:description>"
        f"<xmp:CreatorTool>{SOFTWARE}</xmp:CreatorTool>"
        f"<Iptc4xmpExt:DigitalSourceType>{DIGITAL_SOURCE_TYPE}</Iptc4xmpExt:DigitalSourceType>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="r"?>'
    )
    return body.encode("utf-8")
