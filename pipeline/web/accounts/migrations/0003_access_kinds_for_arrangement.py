"""The access log's kinds gain the catalogue and handover downloads (choices only: nothing changes in the table,
so the append-only triggers of 0002 stay)."""
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0002_roles_and_append_only_log"),
    ]

    operations = [
        migrations.AlterField(
            model_name="accessevent",
            name="kind",
            field=models.CharField(choices=[("login", "登录"), ("login_failed", "登录失败"), ("logout", "退出"),
                                            ("locked_out", "登录锁定"), ("search", "检索"), ("case_view", "查看案件"),
                                            ("dossier_download", "下载案卷"), ("export_download", "下载导出包"),
                                            ("plan_download", "下载销毁清册"), ("catalogue_download", "下载案卷目录"),
                                            ("handover_download", "下载移交文件"), ("denied", "越权访问被拒")],
                                   db_index=True, max_length=20, verbose_name="事件"),
        ),
    ]
