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
