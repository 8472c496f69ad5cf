"""What the Upload page says of a delete, as Markdown with the file's name escaped."""

from __future__ import annotations

from store.deletes import UploadImpact
from ui.format import counted
from ui.text import escape_markdown


def deleted_text(deleted: UploadImpact | None, shown: UploadImpact) -> str:
    """What a delete removed; `deleted` is None when the upload was gone already (two people
    deleting it at once), and `shown` is what the page had shown."""
    if deleted is None:
        return f"**{escape_markdown(shown.filename)}** was already deleted; nothing removed."
    return (
        f"Deleted **{escape_markdown(deleted.filename)}** ({deleted.upload_id}): "
        f"{counted(deleted.trajectories, 'trajectory', 'trajectories')}, "
        f"{counted(deleted.spans, 'span')}."
    )


def impact_text(impact: UploadImpact) -> str:
    """What deleting an upload would remove, before it is confirmed."""
    text = (
        f"Deleting **{escape_markdown(impact.filename)}** removes "
        f"{counted(impact.trajectories, 'trajectory', 'trajectories')} and "
        f"{counted(impact.spans, 'span')}"
    )
    if impact.other_uploads_spans:
        files = ", ".join(f"**{escape_markdown(name)}**" for name in impact.other_files[:6])
        more = " and others" if len(impact.other_files) > 6 else ""
        text += (
            f", including {counted(impact.other_uploads_spans, 'span')} that {files}{more} "
            "sent of them (ingesting those files again brings their spans back)"
        )
    return text + ". This cannot be undone."
