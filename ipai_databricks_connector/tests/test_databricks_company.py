"""The rows of a generated model follow their view's company and groups."""

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import GOLD, LakeCase, sales_table


@tagged("post_install", "-at_install")
class TestGeneratedModelCompany(LakeCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.env.company
        cls.company_b = cls.env["res.company"].create({"name": "Dbx Company B"})
        cls.user_b = new_test_user(
            cls.env, login="dbx_user_b", company_id=cls.company_b.id,
            company_ids=[(6, 0, cls.company_b.ids)],
            groups="ipai_databricks_connector.databricks_group_user")
        cls.finance = cls.env["res.groups"].create({"name": "Dbx finance readers"})

    def setUp(self):
        super().setUp()
        self.lake.write_table(GOLD, sales_table())
        self.view = self.make_view()
        self.view._refresh_now()

    def seen(self, user, companies=None):
        Rows = self.env[self.view.model_name].with_user(user)
        if companies:
            Rows = Rows.with_context(allowed_company_ids=companies.ids)
        groups = Rows.formatted_read_group([], ["x_region"], ["__count"])
        return len(Rows.search_read([], ["x_region"])), sum(g["__count"] for g in groups)

    def test_another_companys_user_reads_no_row(self):
        self.assertEqual(self.seen(self.user), (6, 6))
        self.assertEqual(self.seen(self.user_b), (0, 0))
        self.view.with_user(self.manager).action_create_model()  # "Rebuild model"
        self.view._refresh_now()
        self.assertEqual(self.seen(self.user), (6, 6))
        self.assertEqual(self.seen(self.user_b), (0, 0), "the rule survives a rebuild")
        # The workspace moves to company B: the rows follow it.
        self.workspace.company_id = self.company_b
        self.manager.company_ids = [(4, self.company_b.id)]
        self.user.company_ids = [(4, self.company_b.id)]
        self.env.invalidate_all()
        self.assertEqual(self.seen(self.user_b), (6, 6))
        self.assertEqual(self.seen(self.user, self.company_a), (0, 0))
        self.assertEqual(self.seen(self.user, self.company_a | self.company_b), (6, 6))

    def test_a_view_limited_to_groups(self):
        self.view.with_user(self.manager).group_ids = self.finance
        with self.assertRaises(AccessError):
            self.seen(self.user)
        self.finance.user_ids = [(4, self.user.id)]
        self.assertEqual(self.seen(self.user), (6, 6))
        self.assertEqual(self.seen(self.manager), (6, 6), "managers keep reading")
        self.assertEqual(self.view.menu_id.group_ids, self.finance)
        self.view.with_user(self.manager).group_ids = False
        self.assertEqual(self.seen(self.user), (6, 6))
