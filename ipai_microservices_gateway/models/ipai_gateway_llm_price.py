from odoo import api, fields, models


class IpaiGatewayLlmPrice(models.Model):
    """Price of one model of an LLM or agent service, per million tokens, in the
    service company's currency (or the current company's for shared services)."""

    _name = "ipai.gateway.llm.price"
    _description = "Gateway LLM model price"
    _order = "service_id, model"

    service_id = fields.Many2one("ipai.gateway.service", required=True, ondelete="cascade",
                                 index=True)
    model = fields.Char(required=True, help="The model name the service answers with "
                        "(usage.model), or its prefix: 'gpt-4o' prices 'gpt-4o-2024-08-06'.")
    prompt_price = fields.Float(string="Prompt price / 1M tokens", required=True, default=0.0)
    completion_price = fields.Float(string="Completion price / 1M tokens", required=True,
                                    default=0.0)

    _model_unique = models.Constraint("unique(service_id, model)",
                                      "Each model is priced once per service.")
    _prices_positive = models.Constraint(
        "CHECK(prompt_price >= 0 AND completion_price >= 0)", "Prices cannot be negative.")

    @api.model
    def _cost(self, prices, model, prompt_tokens, completion_tokens):
        """Cost of one call from ``prices`` (``((model, prompt, completion), ...)``):
        the exact model's price, else the longest matching prefix, else 0."""
        best = None
        for name, prompt, completion in prices:
            if model == name or (model or "").startswith(name):
                if best is None or len(name) > len(best[0]) or model == name:
                    best = (name, prompt, completion)
                    if model == name:
                        break
        if best is None:
            return 0.0
        return (prompt_tokens * best[1] + completion_tokens * best[2]) / 1_000_000
