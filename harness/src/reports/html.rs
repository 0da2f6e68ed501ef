use crate::matrix::MatrixReport;
pub fn render(_report: &MatrixReport) -> String {
    String::new()
}
