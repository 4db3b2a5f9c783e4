"""The search parameters, as the URL carries them (/search/?q=&kind=&ground=&organizer=&region=&outcome=&from=&to=
&page=), validated by a Django form; the same names as the command line's options."""
from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator

from pipeline.web.labels import KIND_LABELS, OUTCOMES

PAGE_SIZE = 20


class SearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="检索词")
    kind = forms.ChoiceField(required=False, choices=[("", "全部")] + list(KIND_LABELS.items()), label="约谈对象")
    ground = forms.CharField(required=False, max_length=8, label="约谈事由",
                             validators=[RegexValidator(r"^\d{1,2}(\.\d{1,2})?$", "约谈事由应为条款编号，如 6.2 或 6")])
    organizer = forms.CharField(required=False, max_length=100, label="组织方")
    region = forms.CharField(required=False, max_length=12, label="行政区划",
                             validators=[RegexValidator(r"^\d{2,12}$", "行政区划代码应为数字，如 360100 或 3604")])
    outcome = forms.ChoiceField(required=False, choices=[("", "全部")] + list(OUTCOMES.items()), label="处理结果")
    page = forms.IntegerField(required=False, min_value=1, max_value=500, label="页")
    limit = forms.IntegerField(required=False, min_value=1, max_value=100, label="条数")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from"] = forms.DateField(required=False, label="约谈日期自", input_formats=["%Y-%m-%d"],
                                              error_messages={"invalid": "日期应为 YYYY-MM-DD，如 2025-01-01"})
        self.fields["to"] = forms.DateField(required=False, label="约谈日期至", input_formats=["%Y-%m-%d"],
                                            error_messages={"invalid": "日期应为 YYYY-MM-DD，如 2025-12-31"})

    def clean(self):
        data = super().clean()
        if data.get("from") and data.get("to") and data["from"] > data["to"]:
            raise forms.ValidationError("起始日期晚于截止日期")
        return data

    def problems(self) -> str:
        return "；".join(f"{self.fields[k].label if k in self.fields else ''}：{'，'.join(v)}".lstrip("：")
                        for k, v in self.errors.items())

    def query(self) -> dict:
        """Keyword arguments for the core's search."""
        d = self.cleaned_data
        return {"kind": d.get("kind") or None, "ground": d.get("ground") or None,
                "organizer": d.get("organizer") or None, "region": d.get("region") or None,
                "outcome": d.get("outcome") or None, "date_from": d.get("from"), "date_to": d.get("to")}

    @property
    def page_number(self) -> int:
        return self.cleaned_data.get("page") or 1
