from django.views.generic import TemplateView


class PlanListView(TemplateView):
    template_name = "plans/plan_list.html"
