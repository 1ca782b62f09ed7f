pub const SERVICE_NAME: &str = "almo.delivery_plan.v1.DeliveryPlanService";
pub struct DeliveryPlans;
