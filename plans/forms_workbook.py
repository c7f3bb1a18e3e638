"""The upload form for plan workbooks. It checks only what a form can: a file of an
acceptable size. Everything about its content is the importer's job (plans.workbook)."""

from django import forms

from plans.workbook import max_bytes

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _megabytes(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"


class WorkbookUploadForm(forms.Form):
    file = forms.FileField(
        label="Plan workbook (.xlsx)",
        help_text="An Excel workbook made from the plan workbook template, at most "
        "{size}. Nothing is saved until you have seen the changes and confirmed them.",
        widget=forms.ClearableFileInput(
            attrs={
                "accept": f".xlsx,{XLSX}",
                "class": "form-control",
                "aria-describedby": "id_file_helptext",
            }
        ),
        error_messages={"required": "Choose a workbook to upload.", "empty": "The file is empty."},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = self.fields["file"].help_text.format(
            size=_megabytes(max_bytes())
        )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > max_bytes():
            raise forms.ValidationError(
                f"The file is {_megabytes(upload.size)}; the largest workbook accepted is "
                f"{_megabytes(max_bytes())}. Remove unused sheets, images or formatting and "
                "try again."
            )
        return upload
